import Routing
/// How files in a tables folder are named: `NAME.yaml` is a table, `NAME.scenarios.yaml` its scenarios,
/// `NAME.mix.yaml` its simulation mix.
public enum TableFileNames {
    static let companions = [".scenarios.yaml", ".mix.yaml"]

    /// Whether a file name is a table's (not a scenario or mix file).
    public static func isTable(_ name: String) -> Bool {
        (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) && !companions.contains { name.hasSuffix($0) }
    }

    /// `x.yaml` → `x.scenarios.yaml`.
    public static func scenarios(for tablePath: String) -> String { base(tablePath) + ".scenarios.yaml" }

    /// `x.yaml` → `x.mix.yaml`.
    public static func mix(for tablePath: String) -> String { base(tablePath) + ".mix.yaml" }

    private static func base(_ path: String) -> String {
        path.hasSuffix(".yml") ? String(path.dropLast(4)) : path.hasSuffix(".yaml") ? String(path.dropLast(5)) : path
    }
}
