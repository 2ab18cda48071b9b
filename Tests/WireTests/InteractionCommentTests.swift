import Foundation
import Testing
@testable import Routing
import TableLanguage
import TestSupport
import Wire

/// A decision keeps its comment as parts (``InteractionComment``) and writes them into the output one after
/// another. These tests hold both its text and its JSON to the comment joined the plain way, part by part, by the
/// `Character` (the contract's "the rule's text, then `идент. …`, then the notes, masked"), for every kind of
/// comment format, rule text, identification and notes, read from JSON and made with `Call(…)`.
@Suite(.timeLimit(.minutes(5)))
struct InteractionCommentTests {
    struct Format: Sendable {
        let identification: String
        let separator: String
        /// The identification's part for a call, as the plain join writes it.
        let part: @Sendable (String) -> String
    }

    static let formats: [Format] = [
        Format(identification: "идент. {identification}", separator: ". ") { "идент. \($0)" },
        Format(identification: "{identification}", separator: " / ") { $0 },
        // After the identification, a text that ends a sentence: the notes follow after a space.
        Format(identification: "id: {identification}!", separator: "; ") { "id: \($0)!" },
        Format(identification: "\"id\"\t{identification} \\", separator: "\" | ") { "\"id\"\t\($0) \\" },
        // Not kept as parts: the format reads more than the identification, reads it twice, or reads nothing.
        Format(identification: "идент. {identification} ({language})", separator: ". ") { "идент. \($0) (ru)" },
        Format(identification: "{identification} {identification}", separator: ". ") { "\($0) \($0)" },
        Format(identification: "идентифицирован", separator: ". ") { _ in "идентифицирован" },
        // A prepended mark (U+0600) before an identification ".": the last character is then not ".", which
        // only the joined text shows.
        Format(identification: "{identification}", separator: " \u{600}") { $0 },
    ]

    /// The rules' comments, chosen by the fact `lead`, and their text for `why = "сложно?"`.
    static let leads: [(value: String, yaml: String?, text: String)] = [
        ("none", nil, ""),
        ("empty", "\"\"", ""),
        ("dot", "\"Клиент настаивает.\"", "Клиент настаивает."),
        ("plain", "\"Угроза расторжения\"", "Угроза расторжения"),
        ("quoted", #""to \"line\"\\ok\t""#, "to \"line\"\\ok\t"),
        ("rendered", "\"Причина: {facts.why}\"", "Причина: сложно?"),
    ]

    static let identifications: [String?] = [nil, "", "ФИОПД", "сказал.", "a\"b\\c", ".", "\u{600}."]
    static let notes: [String?] = [nil, "  ", "  продиктовал карту 4111 1111 1111 1111  ", "звонит третий раз!", "a\\b\"c\td…"]

    func table(_ format: Format) throws -> Table {
        func quoted(_ s: String) -> String { String(decoding: JSONString.literal(s), as: UTF8.self) }
        let rules = Self.leads.map { lead in
            """
                  - id: t.\(lead.value)
                    when: {facts.lead: \(lead.value)}
                    deny: "no"
            \(lead.yaml.map { "        comment: \($0)\n" } ?? "")
            """
        }.joined()
        return try TestSupport.table("""
        table: t
        time_zone: Europe/Moscow
        comment_format:
          identification: \(quoted(format.identification))
          separator: \(quoted(format.separator))
        topics:
          t:
            facts:
              lead: {type: [\(Self.leads.map(\.value).joined(separator: ", "))]}
              why: {type: string}
            rules:
        \(rules)
        """)
    }

    /// The comment joined the plain way: each part after the text so far, by a space when that text's last
    /// `Character` ends a sentence, else by the separator.
    func joined(_ parts: [String], separator: String) -> String {
        var out = ""
        for part in parts {
            if out.isEmpty { out = part; continue }
            out += (out.last.map { ".!?…".contains($0) } ?? false) ? " " : separator
            out += part
        }
        return out
    }

    @Test func partsWriteTheCommentJoinedThePlainWay() throws {
        let at = Instant(seconds: 1_795_380_900)
        var compared = 0, keptAsParts = 0
        for (f, format) in Self.formats.enumerated() {
            let table = try table(format)
            for lead in Self.leads {
                for identification in Self.identifications {
                    for notes in Self.notes {
                        var parts: [String] = []
                        if !lead.text.isEmpty { parts.append(lead.text) }
                        if let identification, !identification.isEmpty { parts.append(format.part(identification)) }
                        if let trimmed = notes?.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty { parts.append(SensitiveData.mask(trimmed)) }
                        let expected = joined(parts, separator: format.separator)
                        #expect(!expected.contains("4111 1111 1111 1111"))

                        let made = Call(callID: "c", topic: "t", language: "ru", identification: identification,
                                        facts: ["lead": .string(lead.value), "why": .string("сложно?")], notes: notes)
                        var json = JSONWriter()
                        Wire.encode(made, into: &json)
                        let read = try Wire.decodeCall(Array(json.string.utf8), table: table)
                        for call in [made, read] {
                            let decision = try table.evaluate(call, at: at)
                            let context = "format \(f), lead \(lead.value), identification \(identification.debugDescription), notes \(notes.debugDescription)"
                            #expect(decision.comment == expected, "\(context)")
                            // The JSON is the same bytes as the joined text's, whichever way it is written.
                            var whole = OutputBuffer()
                            JSONString.append(expected, to: &whole)
                            var written = JSONWriter()
                            written.comment(decision.interactionComment)
                            #expect(written.string == String(decoding: whole.bytes, as: UTF8.self), "\(context)")
                            #expect(Wire.encode(decision).contains(#""comment":"# + written.string + #","checks""#), "\(context)")
                            if decision.interactionComment.isKeptAsParts { keptAsParts += 1 }
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(compared == Self.formats.count * Self.leads.count * Self.identifications.count * Self.notes.count * 2)
        // Formats 0–3 and 7 keep every comment as parts; 4–6 only those of calls without an identification.
        let withIdentification = Self.identifications.filter { !($0 ?? "").isEmpty }.count
        #expect(keptAsParts == compared - 3 * Self.leads.count * withIdentification * Self.notes.count * 2)
    }

    /// The rule's text is rendered before the identification's format: a call lacking what both read is told
    /// about the rule's (`facts.why`), as before the comment was kept as parts.
    @Test func theRulesTextFailsBeforeTheIdentificationsFormat() throws {
        let table = try table(Self.formats[4])
        let call = Call(callID: "c", topic: "t", identification: "ФИОПД", facts: ["lead": .string("rendered")])
        let error = #expect(throws: InputError.self) { try table.evaluate(call, at: Instant(seconds: 1_795_380_900)) }
        #expect(error?.code == .missingFact && error?.field == "facts.why", "\(String(describing: error))")
    }

    /// Every scenario of every bundled table (rules' and topics' comments, fallbacks when closed, menu leaves,
    /// playbook steps with and without an outcome), at seven instants through the week, given an identification
    /// and notes: the comment is the one without them, then the identification's part, then the masked notes.
    @Test(arguments: bundledTableNames)
    func bundledDecisionsJoinTheCallsPartsThePlainWay(_ name: String) throws {
        let table = try TableLoader.load(yaml: try bundledTableText(name), file: "\(name).yaml")
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("routing-tables/\(name).scenarios.yaml"), encoding: .utf8)
        let suite = try ScenarioSuite.load(yaml: text, file: "\(name).scenarios.yaml")
        let around = try #require(table.commentFormat.aroundIdentification, "\(name): a bundled format reads only the identification")
        let identification = "ФИОПД.", notes = "  звонит третий раз! карта 4111 1111 1111 1111 "
        var compared = 0
        for scenario in suite.scenarios {
            guard var call = try? Call(value: scenario.call) else { continue }
            call.identification = nil
            call.notes = nil
            var given = call
            given.identification = identification
            given.notes = notes
            for step in 0..<7 {
                let instant = Instant(seconds: scenario.at.seconds + Int64(step) * 25_201)
                var bare = SessionBook(), withParts = SessionBook()
                guard let without = try? table.evaluate(call, at: instant, operations: Operations(), sessions: &bare) else { continue }
                let decision = try table.evaluate(given, at: instant, operations: Operations(), sessions: &withParts)
                let context = "\(name): '\(scenario.name)' at \(instant.seconds)"
                // A menu's prompt leaves no comment.
                let expected = decision.action == .prompt ? "" : joined(
                    [without.comment, around.before + identification + around.after, SensitiveData.mask(notes.trimmingCharacters(in: .whitespaces))].filter { !$0.isEmpty },
                    separator: table.commentFormat.separator)
                #expect(decision.comment == expected, "\(context)")
                var whole = OutputBuffer()
                JSONString.append(expected, to: &whole)
                #expect(Wire.encode(decision).contains(#""comment":"# + String(decoding: whole.bytes, as: UTF8.self) + #","checks""#), "\(context)")
                compared += 1
            }
        }
        #expect(compared > 0)
    }

    /// A format that reads the call's language fails as before when the call does not give it: `missing_fact`,
    /// and only when the call gives an identification.
    @Test func aFormatReadingWhatTheCallLacksFailsOnlyWithAnIdentification() throws {
        let table = try table(Self.formats[4])
        let at = Instant(seconds: 1_795_380_900)
        let facts: [String: Value] = ["lead": .string("plain")]
        #expect(try table.evaluate(Call(callID: "c", topic: "t", facts: facts), at: at).comment == "Угроза расторжения")
        let error = #expect(throws: InputError.self) {
            try table.evaluate(Call(callID: "c", topic: "t", identification: "ФИОПД", facts: facts), at: at)
        }
        #expect(error?.code == .missingFact && error?.field == "language", "\(String(describing: error))")
    }
}
