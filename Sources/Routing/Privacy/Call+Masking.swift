extension Call {
    /// The call with every free-text value passed through ``SensitiveData/mask(_:)``: the notes, the
    /// identification, and every string among the facts and the customer's fields (inside arrays and objects
    /// too). Keys, `call_id`, `topic` and `language` are names, not free text, and are kept.
    ///
    /// Wire's reader masks the same values as it reads a request's call (`Call.Reader(masking: true)`), so what
    /// the engine decides, journals, publishes and keeps in sessions, and what `switchboard route` prints,
    /// never holds the clear value. A table's own values have no secrets in them, so a masked fact compares
    /// with them as the clear one would (a test checks every bundled table).
    public func masked() -> Call {
        var call = self
        call.notes = notes.map(SensitiveData.mask)
        call.notesAreMasked = true
        call.identification = identification.map(SensitiveData.mask)
        call.factsAsGiven = factsAsGiven.map { .init($0.key, $0.value.masked()) }
        call.customerAsGiven = customerAsGiven.map { .init($0.key, $0.value.masked()) }
        return call
    }
}

extension Value {
    /// ``masked()``, or nil when masking leaves the value as it is (most values: checked without building one).
    package func maskedIfChanged() -> Value? {
        switch self {
        case .null, .bool, .number: return nil
        case .string(let s):
            // `mask` hands back the text itself when it finds nothing to mask, which `==` tells at once.
            let masked = SensitiveData.mask(s)
            return masked == s ? nil : .string(masked)
        case .array, .object:
            let masked = masked()
            return masked == self ? nil : masked
        }
    }

    /// The value with every string in it masked (``SensitiveData/mask(_:)``); keys are kept.
    public func masked() -> Value {
        switch self {
        case .null, .bool, .number: self
        case .string(let s): .string(SensitiveData.mask(s))
        case .array(let items): .array(items.map { $0.masked() })
        case .object(let members): .object(members.map { .init($0.key, $0.value.masked()) })
        }
    }
}
