// libFuzzer entry for FuzzTargets.table: tools/fuzz builds it with -DFUZZING and the fuzzer sanitizer.
// In an ordinary build it replays the files named on the command line instead.
import FuzzTargets
import Foundation

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTargets.table(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
struct Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            FuzzTargets.table(Array(data))
        }
    }
}
#endif
