/// A decision's interaction comment: the rule's text, then `идент. …`, then the agent's notes, masked, joined by
/// the table's ``CommentFormat``. Evaluation keeps the parts, not the text: they are written into the output one
/// after another (``write(into:)``), escaped as they go, and joined into a `String` only when the comment is
/// read as one (``text``). Joining them for every decision was about a fifth of evaluating it.
package struct InteractionComment: Sendable {
    /// The rule's text: the template's own when it reads nothing from the call, escaped at load.
    package enum Lead: Sendable {
        case text(String)
        case constant(RenderedText)

        var text: String {
            switch self {
            case .text(let s): s
            case .constant(let r): r.text
            }
        }
    }

    /// The rule's text ("" when it has none); the whole comment when `format` is nil.
    private let lead: Lead
    /// The call's identification, not empty, put between the format's texts around it.
    private let identification: String?
    /// The agent's notes, masked and trimmed, not empty.
    private let notes: String?
    /// nil for a comment kept as one text.
    private let format: CommentFormat?
    /// Whether the text before the identification, and before the notes, ends a sentence: joined by a space
    /// then, not by the separator. Decided at evaluation, where the parts are at hand.
    private let identificationFollowsSentence: Bool
    private let notesFollowSentence: Bool

    /// A comment given whole (decoded, written by a test, a menu's prompt that has none).
    package init(text: String) {
        self.init(lead: .text(text), identification: nil, notes: nil, format: nil, identificationFollowsSentence: false, notesFollowSentence: false)
    }

    private init(lead: Lead, identification: String?, notes: String?, format: CommentFormat?,
                 identificationFollowsSentence: Bool, notesFollowSentence: Bool) {
        self.lead = lead
        self.identification = identification
        self.notes = notes
        self.format = format
        self.identificationFollowsSentence = identificationFollowsSentence
        self.notesFollowSentence = notesFollowSentence
    }

    /// The comment of a decision: `lead` the rule's rendered text, `identification` and `notes` the call's, not
    /// empty (notes masked and trimmed). Kept as parts when `format` reads only the call's identification
    /// (``CommentFormat/aroundIdentification``) or the call gives none; otherwise joined now, as one text.
    init(lead: Lead, identification: String?, notes: String?, format: CommentFormat,
         renderIdentification: () throws(InputError) -> String) throws(InputError) {
        guard identification == nil || format.aroundIdentification != nil else {
            var text = lead.text
            func join(_ part: String) {
                if text.isEmpty { text = part; return }
                text += text.endsSentence ? " " : format.separator
                text += part
            }
            join(try renderIdentification())
            if let notes { join(notes) }
            self.init(text: text)
            return
        }
        let leadEndsSentence = switch lead {
        case .text(let s): s.endsSentence
        case .constant(let r): r.endsSentence
        }
        var notesFollowSentence = leadEndsSentence
        if let identification, let around = format.aroundIdentification {
            // Only a text whose last scalar ends a sentence may end one; whether its last character does can
            // depend on what comes before (a prepended mark), so that rare case is looked at in the joined text.
            let last = around.after.isEmpty ? identification : around.after
            notesFollowSentence = last.unicodeScalars.last.map(String.sentenceEnds) ?? false
            if notesFollowSentence {
                notesFollowSentence = InteractionComment(
                    lead: lead, identification: identification, notes: nil, format: format,
                    identificationFollowsSentence: leadEndsSentence, notesFollowSentence: false).text.endsSentence
            }
        }
        self.init(lead: lead, identification: identification, notes: notes, format: format,
                  identificationFollowsSentence: leadEndsSentence, notesFollowSentence: notesFollowSentence)
    }

    /// Whether the comment is kept as parts, not as one text.
    package var isKeptAsParts: Bool { format != nil }

    /// The comment as one text.
    package var text: String {
        guard let format, identification != nil || notes != nil else { return lead.text }
        var text = lead.text
        if let identification, let around = format.aroundIdentification {
            if !text.isEmpty { text += identificationFollowsSentence ? " " : format.separator }
            text += around.before
            text += identification
            text += around.after
        }
        if let notes {
            if !text.isEmpty { text += notesFollowSentence ? " " : format.separator }
            text += notes
        }
        return text
    }

    /// The comment as a JSON string literal, the bytes of ``JSONString/append(_:to:)`` of ``text``: each part
    /// escaped in turn (escaping goes byte by byte), the format's texts copied as escaped at load.
    package func write(into bytes: inout OutputBuffer) {
        bytes.append(0x22)
        let leadIsEmpty: Bool
        switch lead {
        case .text(let s):
            JSONString.appendEscaped(s, to: &bytes)
            leadIsEmpty = s.isEmpty
        case .constant(let r):
            // The literal without its quotes.
            bytes.append(contentsOf: r.json[1 ..< r.json.count - 1])
            leadIsEmpty = r.text.isEmpty
        }
        if let format {
            var empty = leadIsEmpty
            if let identification {
                if !empty { bytes.append(contentsOf: identificationFollowsSentence ? InteractionComment.space : format.separatorJSON) }
                bytes.append(contentsOf: format.beforeIdentificationJSON)
                JSONString.appendEscaped(identification, to: &bytes)
                bytes.append(contentsOf: format.afterIdentificationJSON)
                empty = false
            }
            if let notes {
                if !empty { bytes.append(contentsOf: notesFollowSentence ? InteractionComment.space : format.separatorJSON) }
                JSONString.appendEscaped(notes, to: &bytes)
            }
        }
        bytes.append(0x22)
    }

    private static let space: [UInt8] = [0x20]
}
