/// The phrase signals behind `InjectionHeuristics.keywordScore`: word sequences with bounded gaps, matched
/// on lowercased words, so "ignore all previous instructions" and "ignorez toutes les instructions
/// précédentes" match while "ignore my previous email" and "ignore case" do not.
enum InjectionKeywords {
    /// Steps that must appear in order, each within `gap` words after the previous one.
    struct Signal {
        var steps: [[[String]]]
        var gap: Int
        var weight: Double
        /// First words of the first step, to skip most positions with one set lookup.
        let openers: Set<String>

        init(steps: [[[String]]], gap: Int, weight: Double) {
            self.steps = steps
            self.gap = gap
            self.weight = weight
            openers = Set(steps.first?.compactMap(\.first) ?? [])
        }

        func matches(_ words: [String]) -> Bool {
            guard !steps.isEmpty else { return false }
            for start in words.indices where openers.contains(words[start]) && matchesStep(0, words, start) != nil {
                var position = start + phraseLength(0, words, start)
                var ok = true
                for step in 1..<steps.count {
                    var found = false
                    var k = position
                    while k < min(words.count, position + gap + 1) {
                        if matchesStep(step, words, k) != nil { position = k + phraseLength(step, words, k); found = true; break }
                        k += 1
                    }
                    if !found { ok = false; break }
                }
                if ok { return true }
            }
            return false
        }

        private func matchesStep(_ step: Int, _ words: [String], _ at: Int) -> [String]? {
            steps[step].first { phrase in
                at + phrase.count <= words.count && phrase.indices.allSatisfy { words[at + $0] == phrase[$0] }
            }
        }

        private func phraseLength(_ step: Int, _ words: [String], _ at: Int) -> Int {
            matchesStep(step, words, at)?.count ?? 1
        }
    }

    /// A literal marker looked for in the lowercased text.
    struct Marker {
        var scalars: [UInt32]
        var weight: Double

        init(text: String, weight: Double) {
            scalars = text.lowercased().unicodeScalars.map(\.value)
            self.weight = weight
        }
    }

    private static let markerOpeners = Set(markers.compactMap(\.scalars.first))

    /// The markers present in `t`, each once, in one pass over the text.
    static func markers(in t: ScalarText) -> [Marker] {
        var seen = [Bool](repeating: false, count: markers.count)
        for k in 0..<t.count where markerOpeners.contains(t.lowerASCII(k)) {
            for (m, marker) in markers.enumerated() where !seen[m] && marker.scalars[0] == t.lowerASCII(k) {
                if marker.scalars.indices.allSatisfy({ t.lowerASCII(k + $0) == marker.scalars[$0] }) { seen[m] = true }
            }
        }
        return markers.indices.filter { seen[$0] }.map { markers[$0] }
    }

    /// Signals by the words that can open them, so each word costs one dictionary lookup.
    static let signalsByOpener: [String: [Int]] = {
        var index: [String: [Int]] = [:]
        for (k, signal) in signals.enumerated() {
            for opener in signal.openers { index[opener, default: []].append(k) }
        }
        return index
    }()

    /// The signals that match `words`, each once.
    static func matchingSignals(_ words: [String]) -> [Signal] {
        var candidates = Set<Int>()
        for word in words { if let list = signalsByOpener[word] { candidates.formUnion(list) } }
        return candidates.sorted().map { signals[$0] }.filter { $0.matches(words) }
    }

    /// Lowercased words (letters, digits, apostrophes), at most 20,000 of them.
    static func words(of text: String) -> [String] {
        var result: [String] = []
        var current = String.UnicodeScalarView()
        for u in text.unicodeScalars {
            let c = u.value
            let isWordScalar: Bool
            if c < 0x80 {
                isWordScalar = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            } else {
                isWordScalar = u.properties.isAlphabetic || u.properties.numericType != nil
            }
            if isWordScalar {
                if c >= 0x41 && c <= 0x5A {
                    current.append(Unicode.Scalar(c + 0x20) ?? u)
                } else if c >= 0x80, u.properties.isUppercase {
                    current.append(contentsOf: u.properties.lowercaseMapping.unicodeScalars)
                } else {
                    current.append(u)
                }
            } else if !current.isEmpty {
                result.append(String(current))
                current = String.UnicodeScalarView()
                if result.count >= 20_000 { return result }
            }
        }
        if !current.isEmpty { result.append(String(current)) }
        return result
    }

    private static func set(_ phrases: String) -> [[String]] {
        phrases.split(separator: "|").map { $0.split(separator: " ").map(String.init) }
    }

    private static let overrideVerbs = set(
        "ignore|ignoring|disregard|disregarding|forget|forgetting|override|bypass|abandon|discard|drop|neglect|skip"
            + "|ignoriere|ignorieren|ignoriert|vergiss|vergessen|missachte|missachten"
            + "|ignorez|ignore|oublie|oubliez|ignora|ignorad|ignoren|olvida|olvide|olvidad|ignorate|dimentica|dimenticate")
    private static let instructionNouns = set(
        "instructions|instruction|rules|guidelines|directives|directions|prompt|prompts|restrictions|constraints"
            + "|programming|policies|commands|guardrails|safeguards|filters|system prompt|context|orders"
            + "|content policy|safety protocols|safety guidelines|safety rules|confidentiality policy|ethical guidelines"
            + "|anweisungen|anweisung|regeln|instruktionen|vorgaben|befehle|richtlinien|sicherheitsrichtlinien"
            + "|consignes|règles|directives|instrucciones|reglas|indicaciones|normas|istruzioni|regole|direttive")
    private static let priorWords = set(
        "previous|prior|above|earlier|preceding|former|original|initial|all|any|every|your|the|system|those|these"
            + "|vorherigen|bisherigen|obigen|vorigen|alle|deine|ihre"
            + "|précédentes|toutes|tes|vos|les|anteriores|todas|tus|las|sus|precedenti|tutte|le|tue")

    static let signals: [Signal] = [
        // "ignore all previous instructions", "vergiss alle vorherigen Anweisungen"
        Signal(steps: [overrideVerbs, priorWords, instructionNouns], gap: 3, weight: 0.8),
        Signal(steps: [overrideVerbs, instructionNouns], gap: 1, weight: 0.45),
        // "instructions précédentes", "istruzioni precedenti" after the verb
        Signal(steps: [overrideVerbs, instructionNouns, set("précédentes|precedenti|anteriores|above|before")], gap: 2, weight: 0.7),
        // Persona switches
        Signal(steps: [set("you are now|you're now|from now on you are|du bist jetzt|du bist nun|tu es maintenant|vous êtes maintenant|ahora eres|ora sei|adesso sei|d'ora in poi sei")], gap: 0, weight: 0.5),
        Signal(steps: [set("do anything now")], gap: 0, weight: 0.8),
        Signal(steps: [set("developer mode|dev mode|god mode|jailbreak mode|unrestricted mode|entwicklermodus|mode développeur|modo desarrollador|modalità sviluppatore")], gap: 0, weight: 0.6),
        Signal(steps: [set("jailbroken|jailbreak|jailbreaking")], gap: 0, weight: 0.3),
        Signal(steps: [set("stay in character|stay in role|never break character|don't break character")], gap: 0, weight: 0.35),
        Signal(steps: [set("no restrictions|without restrictions|without any restrictions|no limitations|without limitations|without limits|no limits|no filters|unfiltered|uncensored|no ethical|without ethics|not bound by|no longer bound|free from the typical confines|safety protocols disabled|safety filters disabled|sin restricciones|sans restrictions|senza restrizioni|ohne einschränkungen|ohne einschraenkungen")], gap: 0, weight: 0.35),
        // "ignore everything above", "disregard anything said before"
        Signal(steps: [overrideVerbs, set("everything|anything|all"), set("above|before|prior|previous|earlier|said|else")], gap: 1, weight: 0.7),
        // Rules declared void: "the safety rules do not apply here"
        Signal(steps: [set("rules|reglas|regles|règles|regole|richtlinien|sicherheitsrichtlinien|guidelines|protocols|policies|restrictions"),
            set("do not apply|don't apply|no longer apply|nicht gelten|no aplican|ne s'appliquent pas|non si applicano|are suspended|are lifted|are disabled")], gap: 4, weight: 0.55),
        Signal(steps: [set("your real task|your actual task|your new task|your true task|your true purpose|your real purpose|your new role|your new instructions")], gap: 0, weight: 0.55),
        Signal(steps: [set("openai|anthropic"), set("policy|policies|content policy|guidelines")], gap: 3, weight: 0.3),
        // System prompt extraction: "print your system prompt", "reveal the instructions above"
        Signal(steps: [set("reveal|print|show|output|repeat|display|leak|tell|give|share|dump|disclose|write|verrate|zeige|gib|révèle|affiche|muestra|revela|mostra|rivela|stampa"),
            set("system prompt|system message|initial prompt|hidden prompt|original prompt|your instructions|your prompt|your rules|the instructions above|the text above|everything above|the words above|systemprompt|system-prompt|prompt système|prompt del sistema|prompt di sistema|initial instructions|starting instructions|system instructions|original instructions|hidden instructions|context window|instructions système|instrucciones del sistema|istruzioni di sistema|systemanweisungen")], gap: 5, weight: 0.7),
        // The same objects asked about without a verb: "What are your initial instructions?"
        Signal(steps: [set("your initial instructions|your starting instructions|your system instructions|your original instructions|your hidden instructions|your system prompt|the system prompt is|instructions you were given|what were you told|tes instructions système|tus instrucciones del sistema|le tue istruzioni di sistema|deine systemanweisungen")], gap: 0, weight: 0.45),
        Signal(steps: [set("new instructions|updated instructions|new rules|neue anweisungen|nouvelles instructions|nuevas instrucciones|nuove istruzioni")], gap: 0, weight: 0.45),
        // Notes addressed to a model reading a document
        Signal(steps: [set("if you are|if you're|wenn du|si tu es|si eres|se sei"), set("an ai|a language model|an llm|an assistant|an ai assistant|an agent|a chatbot|a bot|eine ki|un assistant|une ia|una ia|un'ia|un asistente|un assistente")], gap: 1, weight: 0.7),
        Signal(steps: [set("ai assistant|ai agent|language model|llm|assistant"), set("reading this|processing this|summarizing this|summarising this")], gap: 1, weight: 0.6),
        Signal(steps: [set("note to|attention|message for|instructions for|instruction to|notice to|important for"),
            set("ai|the ai|assistant|the assistant|llm|the model|ai agents|language models|the bot|any ai|ai systems|any ai system|the agent|ai coding agents")], gap: 0, weight: 0.5),
        Signal(steps: [set("for ai agents|for ai coding agents|ai agents reading|ai agents integrating|ai agents processing|to any ai|any ai system|for llms|for language models")], gap: 0, weight: 0.45),
        // Instructions planted in a document for the model's answer: "append the token … to every summary"
        Signal(steps: [set("append|include|add|insert"), set("in your summary|to your summary|in your response|to your response|in your reply|to every summary|to every response|to every future summary|in every summary|in every response|to every answer")], gap: 8, weight: 0.3),
        Signal(steps: [set("instead|rather"), set("say|respond|reply|output|print|answer"), set("haha pwned|pwned|i have been pwned")], gap: 4, weight: 0.6),
    ]

    static let markers: [Marker] = [
        Marker(text: "[system]", weight: 0.6), Marker(text: "system note:", weight: 0.6), Marker(text: "[system note", weight: 0.6),
        Marker(text: "<|im_start|>system", weight: 0.7), Marker(text: "<|system|>", weight: 0.6), Marker(text: "<system>", weight: 0.4),
        Marker(text: "</system>", weight: 0.4), Marker(text: "### system", weight: 0.4), Marker(text: "system override", weight: 0.6),
        Marker(text: "admin override", weight: 0.6), Marker(text: "[admin]", weight: 0.4), Marker(text: "[instruction]", weight: 0.4),
        Marker(text: "[[system", weight: 0.5), Marker(text: "<!-- ai", weight: 0.5), Marker(text: "[inst]", weight: 0.4),
        Marker(text: "🔓", weight: 0.4), Marker(text: "override:", weight: 0.4), Marker(text: "end of user input", weight: 0.5),
        Marker(text: "end of system prompt", weight: 0.5), Marker(text: "\nsystem:", weight: 0.4), Marker(text: "nota di sistema", weight: 0.5),
        Marker(text: "note système", weight: 0.5), Marker(text: "nota del sistema", weight: 0.5), Marker(text: "systemhinweis", weight: 0.5),
    ]
}
