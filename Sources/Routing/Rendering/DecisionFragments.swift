/// The parts of a decision's JSON that the table fixes, rendered at load: what a decision made from an outcome
/// (a rule's, a menu leaf's, a playbook step's) carries so that encoding it copies bytes instead of writing each
/// member's key and escaping each text. What is written for each decision: the address, procedure or reason,
/// comment, `valid_until`, the trace lines made for this call, and, where they apply, a menu leaf's or playbook
/// step's rule and view, a rule's own case subject, phrases said in the caller's language. Wire's encoder writes
/// a decision without fragments member by member, to the same bytes (`DecisionFragmentsTests` compares the two).
///
/// A few references to what the table rendered, so that making, copying and dropping a decision stays cheap.
package struct DecisionFragments: Sendable {
    /// What comes before `procedure`/`reason`: `action`, `target` and `case`.
    package enum Head: Sendable {
        /// A transfer: the target's parts around the address.
        case transfer(RenderedTarget, byNumber: Bool)
        /// A case: its category's head, or one made for this decision when the rule names its own subject.
        case openCase(RenderedCase, ownSubject: [UInt8]?)
        /// Fixed per action: neither a target nor a case.
        case bytes([UInt8])
    }

    package let head: Head
    /// The decision's rule rendered at load; nil when the decision's rule is not a table rule's id.
    package let rule: RenderedRule?
    /// The outcome that happened (after redirects and fallbacks): its own phrases, checks and case subject.
    package let outcome: Outcome

    package init(head: Head, rule: RenderedRule?, outcome: Outcome) {
        self.head = head
        self.rule = rule
        self.outcome = outcome
    }

    /// The phrases said: the outcome's own, else its target's or category's, else none. The one place that
    /// chooses them: Wire writes `phrases.array`, ``Decision/phrases`` reads `phrases.texts`.
    package var phrases: RenderedList {
        if let own = outcome.rendered.phrases { return own }
        switch head {
        case .transfer(let target, _): return target.phrases
        case .openCase(let category, _): return category.phrases
        case .bytes: return RenderedList.empty
        }
    }

    /// The checks: a target's, then the outcome's own.
    package var checks: (first: RenderedList, second: RenderedList) {
        if case .transfer(let target, _) = head { return (target.checks, outcome.rendered.checks) }
        return (outcome.rendered.checks, RenderedList.empty)
    }
}

/// Texts of a list, and the same rendered for a JSON array: `"a","b"` (no brackets) and `["a","b"]`.
package final class RenderedList: Sendable {
    package let texts: [String]
    package let items: [UInt8]
    package let array: [UInt8]

    package init(_ texts: [String]) {
        self.texts = texts
        var items = OutputBuffer()
        for (k, text) in texts.enumerated() {
            if k > 0 { items.append(0x2C) }
            JSONString.append(text, to: &items)
        }
        self.items = items.bytes
        self.array = [0x5B] + self.items + [0x5D]
    }

    static let empty = RenderedList([])
}

/// An outcome's own phrases (nil: the target's or category's) and checks, rendered at load.
package final class RenderedOutcome: Sendable {
    package let phrases: RenderedList?
    package let checks: RenderedList

    init(phrases: [String]?, checks: [String]) {
        self.phrases = phrases.map(RenderedList.init)
        self.checks = RenderedList(checks)
    }
}

/// A rule's parts of the decisions it makes, rendered at load: its id as a JSON string, and the topics of its
/// events without a target or a case (``Decision/eventTopic``).
package final class RenderedRule: Sendable {
    package let id: String
    /// The id as a JSON string, for the decision's `rule`.
    package let json: [UInt8]
    private let firstLineTopic: [UInt8]
    private let denyTopic: [UInt8]
    private let selfServiceTopic: [UInt8]

    init(id: String) {
        self.id = id
        json = JSONString.literal(id)
        firstLineTopic = Decision.eventTopic(action: .firstLine, subject: id)
        denyTopic = Decision.eventTopic(action: .deny, subject: id)
        selfServiceTopic = Decision.eventTopic(action: .selfService, subject: id)
    }

    /// The topic of a decision of `action` by this rule, for the actions whose topic names the rule.
    func eventTopic(_ action: Decision.Action) -> [UInt8]? {
        switch action {
        case .firstLine: firstLineTopic
        case .deny: denyTopic
        case .selfService: selfServiceTopic
        default: nil
        }
    }
}

/// A target's parts of a transfer decision, rendered at load.
package final class RenderedTarget: Sendable {
    package let target: Target
    /// `{"action":"transfer","target":{"id":…,"address":`
    package let head: [UInt8]
    /// `,"via":"cti","mode":…},"case":null`, and the same by number.
    package let afterAddressByCTI: [UInt8]
    package let afterAddressByNumber: [UInt8]
    package let phrases: RenderedList
    package let checks: RenderedList
    /// The topic of a transfer's event to it (``Decision/eventTopic``).
    package let eventTopic: [UInt8]

    init(_ target: Target) {
        self.target = target
        eventTopic = Decision.eventTopic(action: .transfer, subject: target.id)
        head = Array(#"{"action":"transfer","target":{"id":"#.utf8) + JSONString.literal(target.id) + Array(#","address":"#.utf8)
        func after(_ via: Decision.Via) -> [UInt8] {
            Array(#","via":"#.utf8) + JSONString.literal(via.rawValue) + Array(#","mode":"#.utf8)
                + JSONString.literal(target.mode.rawValue) + Array(#"},"case":null"#.utf8)
        }
        afterAddressByCTI = after(.cti)
        afterAddressByNumber = after(.number)
        phrases = RenderedList(target.phrases)
        checks = RenderedList(target.checks)
    }
}

/// A case category's parts of a case decision, rendered at load.
package final class RenderedCase: Sendable {
    package let category: CaseCategory
    /// `{"action":"case","target":null,"case":{…}` with the category's own subject.
    package let head: [UInt8]
    package let phrases: RenderedList
    /// The topic of a case's event in this category (``Decision/eventTopic``).
    package let eventTopic: [UInt8]
    private let beforeSubject: [UInt8]
    private let afterSubject: [UInt8]

    init(_ category: CaseCategory) {
        self.category = category
        eventTopic = Decision.eventTopic(action: .openCase, subject: category.id)
        beforeSubject = Array(#"{"action":"case","target":null,"case":{"id":"#.utf8) + JSONString.literal(category.id)
            + Array(#","category":"#.utf8) + JSONString.literal(category.category)
            + Array(#","priority":"#.utf8) + JSONString.literal(category.priority.rawValue) + Array(#","subject":"#.utf8)
        afterSubject = Array(#","fields":"#.utf8) + RenderedList(category.fields).array + [0x7D]
        phrases = RenderedList(category.phrases)
        head = RenderedCase.head(beforeSubject, category.subject, afterSubject)
    }

    /// The head with another subject (a rule's own).
    func head(subject: String) -> [UInt8] { RenderedCase.head(beforeSubject, subject, afterSubject) }

    /// Written into one buffer: a rule's own subject is put in at evaluation, once a decision.
    private static func head(_ beforeSubject: [UInt8], _ subject: String?, _ afterSubject: [UInt8]) -> [UInt8] {
        var bytes = OutputBuffer(capacity: beforeSubject.count + (subject?.utf8.count ?? 4) + 2 + afterSubject.count)
        bytes.append(contentsOf: beforeSubject)
        if let subject { JSONString.append(subject, to: &bytes) } else { bytes.append("null") }
        bytes.append(contentsOf: afterSubject)
        return bytes.bytes
    }
}

extension Decision.Action {
    /// `{"action":…,"target":null,"case":null`: the head of a decision with neither a target nor a case.
    private static func headWithoutTargetOrCase(_ action: Decision.Action) -> [UInt8] {
        Array(#"{"action":"#.utf8) + JSONString.literal(action.rawValue) + Array(#","target":null,"case":null"#.utf8)
    }

    static let firstLineHead = headWithoutTargetOrCase(.firstLine)
    static let denyHead = headWithoutTargetOrCase(.deny)
    static let selfServiceHead = headWithoutTargetOrCase(.selfService)
}
