/// What static analysis found in a table: `switchboard coverage`.
public struct CoverageReport: Sendable {
    public var topics: [TopicCoverage] = []
    public var findings: [CoverageFinding] = []

    /// Gaps or calls with nowhere to go: the table would leave callers without a decision.
    public var hasBlockingFindings: Bool { findings.contains { $0.kind.isBlocking } }

    package init(topics: [TopicCoverage] = [], findings: [CoverageFinding] = []) {
        self.topics = topics
        self.findings = findings
    }
}

/// One topic's numbers.
public struct TopicCoverage: Sendable {
    public let code: String
    /// Combinations of the values its rules tell apart, all of them checked.
    public let combinations: Int
    public let rules: Int
    public let gaps: Int
    public let unreachable: Int
    public let overlaps: Int
    /// `rules`, `menu` or `playbook`; for the latter two `rules` counts nodes or steps, and gaps,
    /// combinations and overlaps do not apply (every key and outcome not listed has its fallback or error).
    public var kind = "rules"

    package init(code: String, combinations: Int, rules: Int, gaps: Int, unreachable: Int, overlaps: Int, kind: String = "rules") {
        self.kind = kind
        self.code = code
        self.combinations = combinations
        self.rules = rules
        self.gaps = gaps
        self.unreachable = unreachable
        self.overlaps = overlaps
    }
}

public struct CoverageFinding: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A combination of facts no rule decides.
        case gap
        /// A rule earlier rules always pre-empt.
        case unreachable
        /// A transfer whose target can close with nothing to take the call then.
        case nowhereToGo = "nowhere_to_go"
        /// A rule that decides some calls a later rule would also match (information).
        case overlap
        /// Weekly windows of one schedule that overlap (a warning).
        case windowOverlap = "window_overlap"
        /// An override with the same hours as the weekly windows of its day (a warning).
        case redundantOverride = "redundant_override"

        public var isBlocking: Bool { self == .gap || self == .nowhereToGo }
    }

    public let kind: Kind
    public let mark: SourceMark
    public let message: String

    public var description: String { "\(mark): \(kind.isBlocking ? "error" : kind == .overlap ? "note" : "warning"): \(message)" }

    package init(kind: Kind, mark: SourceMark, message: String) {
        self.kind = kind
        self.mark = mark
        self.message = message
    }
}
