import Glibc

/// Names the calling thread as `perf` and `top -H` show it (at most 15 bytes). Called from inside: on Linux
/// a thread starts with its creator's name, and Foundation's `Thread.current.name` does not always reach
/// the kernel for a thread that has just started.
public func nameCurrentThread(_ name: String) { _ = glibcSetThreadName(pthread_self(), name) }

// glibc's pthread_setname_np(3), which the Glibc module does not export (it needs _GNU_SOURCE).
@_silgen_name("pthread_setname_np") private func glibcSetThreadName(_ thread: pthread_t, _ name: UnsafePointer<CChar>) -> Int32
