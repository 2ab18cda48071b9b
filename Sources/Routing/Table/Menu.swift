/// An IVR menu: nodes that play a prompt and take one key each, leading to other nodes or to an outcome.
///
/// The call carries every key pressed so far (`facts.digits`), so the menu needs no session: the same
/// digits always lead to the same place.
struct Menu: Sendable {
    let start: Int
    let nodes: [MenuNode]
    /// The language prompts are played in until an option chooses one.
    let defaultLanguage: String
    /// Played before the prompt again after a key that is not an option.
    let invalidPrompt: LocalizedText?
    /// Position of `digits` in the topic's facts.
    let digitsFact: Int

    /// The facts every menu topic has without declaring them.
    static let providedFacts = ["digits"]
}

struct MenuNode: Sendable {
    let id: String
    let prompt: LocalizedText
    let options: [MenuOption]
    /// Keys that are not options tolerated at this node before `fallback` decides.
    let retries: Int
    let fallback: Outcome
    let mark: SourceMark
}

struct MenuOption: Sendable {
    enum Exit: Sendable {
        case node(Int)
        case outcome(Outcome)
    }

    let key: Character
    let label: LocalizedText
    /// The language this option chooses for the prompts after it.
    let language: String?
    let exit: Exit
    let mark: SourceMark
}

/// Text in one or more languages; the default language's when the wanted one is missing.
struct LocalizedText: Sendable {
    let texts: [String: String]
    let fallback: String

    func text(in language: String) -> String { texts[language] ?? fallback }
}

/// Keys a telephone keypad sends.
enum Keypad {
    static let keys: Set<Character> = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]
}
