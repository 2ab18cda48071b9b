/// An IVR menu: nodes that play a prompt and take one key each, leading to other nodes or to an outcome.
///
/// The call carries every key pressed so far (`facts.digits`), so the menu needs no session: the same
/// digits always lead to the same place.
package struct Menu: Sendable {
    package let start: Int
    package let nodes: [MenuNode]
    /// The language prompts are played in until an option chooses one.
    package let defaultLanguage: String
    /// Played before the prompt again after a key that is not an option.
    package let invalidPrompt: LocalizedText?
    /// Position of `digits` in the topic's facts.
    package let digitsFact: Int

    /// The facts every menu topic has without declaring them.
    package static let providedFacts = ["digits"]

    package init(start: Int, nodes: [MenuNode], defaultLanguage: String, invalidPrompt: LocalizedText?, digitsFact: Int) {
        self.start = start
        self.nodes = nodes
        self.defaultLanguage = defaultLanguage
        self.invalidPrompt = invalidPrompt
        self.digitsFact = digitsFact
    }
}

package struct MenuNode: Sendable {
    package let id: String
    package let prompt: LocalizedText
    package let options: [MenuOption]
    /// Keys that are not options tolerated at this node before `fallback` decides.
    package let retries: Int
    package let fallback: Outcome
    package let mark: SourceMark

    package init(id: String, prompt: LocalizedText, options: [MenuOption], retries: Int, fallback: Outcome, mark: SourceMark) {
        self.id = id
        self.prompt = prompt
        self.options = options
        self.retries = retries
        self.fallback = fallback
        self.mark = mark
    }
}

package struct MenuOption: Sendable {
    package enum Exit: Sendable {
        case node(Int)
        case outcome(Outcome)
    }

    package let key: Character
    package let label: LocalizedText
    /// The language this option chooses for the prompts after it.
    package let language: String?
    package let exit: Exit
    package let mark: SourceMark

    package init(key: Character, label: LocalizedText, language: String?, exit: Exit, mark: SourceMark) {
        self.key = key
        self.label = label
        self.language = language
        self.exit = exit
        self.mark = mark
    }
}

/// Text in one or more languages; the default language's when the wanted one is missing.
package struct LocalizedText: Sendable {
    package let texts: [String: String]
    package let fallback: String

    package func text(in language: String) -> String { texts[language] ?? fallback }

    package init(texts: [String: String], fallback: String) {
        self.texts = texts
        self.fallback = fallback
    }
}

/// Keys a telephone keypad sends.
package enum Keypad {
    package static let keys: Set<Character> = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]
}
