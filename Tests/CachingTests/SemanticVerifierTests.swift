import Foundation
import Testing

@testable import Caching

@Suite("Semantic verifier")
struct SemanticVerifierTests {
    let verifier = SemanticVerifier()

    func rejection(_ a: String, _ b: String) -> SemanticVerifier.Check? {
        // Symmetric by construction: a cached request and a new one play either part.
        let forward = verifier.rejection(a, b)
        let backward = verifier.rejection(b, a)
        #expect(forward == backward, "\(a) / \(b)")
        return forward
    }

    @Test(arguments: [
        ("How do I reset my password?", "How can I reset my password?"),
        ("The `field` method selects a schema field by its column name or numeric index.",
         "A column name or numeric index can be used to select a schema field with the `field` method."),
        ("Transformers is a machine learning library for Pytorch, TensorFlow, and JAX.",
         "Transformers is a machine learning library for PyTorch, TensorFlow and JAX."),
        ("Besides `torchvision`, Albumentations and Kornia can be used.", "Albumentations and Kornia can be used besides torchvision."),
        ("Timeouts are 30 seconds by default.", "By default timeouts are 30 seconds."),
        ("It does not support streaming.", "Streaming isn't supported by it."),
        ("Use \"Share a dataset\" in the tutorials.", "The tutorials have \"share a dataset\"."),
        ("Call `plt.imshow()` to display it.", "Display it with `plt.imshow`."),
    ])
    func paraphrasesPass(pair: (String, String)) {
        #expect(rejection(pair.0, pair.1) == nil)
    }

    @Test func codeSpansMustAgree() {
        #expect(rejection("The `column` method selects a column by name or index.", "The `columns` method returns a list of columns.") == .code)
        #expect(rejection("Set `max_tokens` to limit output.", "Set `max_output_tokens` to limit output.") == .code)
        // A span may lose its backticks in a paraphrase.
        #expect(rejection("Set `max_tokens` to limit the output.", "To limit the output, set max_tokens.") == nil)
    }

    @Test func identifiersAreComparedWithoutStemming() {
        #expect(rejection("Pass dtype uint8 to the loader.", "Pass dtype uint16 to the loader.") != nil)
        #expect(rejection("Call load_dataset to read it.", "Call load_datasets to read it.") == .identifiers)
        #expect(rejection("IterableDataset streams the data.", "IterableDatasets stream the data.") == .identifiers)
        #expect(rejection("The JSON loader reads files.", "The CSV loader reads files.") == .identifiers)
        #expect(rejection("Tasks gives demos for ML projects.", "Tasks gives demos for machine learning projects.") == nil)  // spelt out
        #expect(rejection("Parameters of datasets.AudioClassification are listed.", "Parameters of the AudioClassification class of datasets are listed.") == nil)
        #expect(rejection("Use a list (e.g. of floats).", "Use a list (like of floats).") == nil)  // e.g is no identifier
        #expect(rejection("Import from torch.nn first.", "Import from torch.optim first.") == .identifiers)
        // A part of another identifier does not name it.
        #expect(rejection("The `devices` argument defaults to `jax.devices()[0]`.", "The `device` argument defaults to `jax.devices()[0]`.") == .code)
    }

    @Test func numbersMustAgree() {
        #expect(rejection("The limit is 100 requests per minute.", "The limit is 1000 requests per minute.") == .numbers)
        #expect(rejection("The limit is 1,000 requests.", "The limit is 1000 requests.") == nil)
        #expect(rejection("Pick 1,2,3.", "Pick 123.") == .numbers)
        #expect(rejection("It works in two steps.", "It works in a pair of steps.") == nil)  // a spelt-out count, nothing to contradict it
        #expect(rejection("It has two steps: 1) download, 2) prepare.", "It downloads, then prepares, in two steps.") == nil)  // list markers
        #expect(rejection("Version 2.10.0 lacks it.", "Version 2.11.0 lacks it.") == .numbers)
        #expect(rejection("It retries three times.", "It retries 3 times.") == nil)
        #expect(rejection("It retries three times.", "It retries 4 times.") == .numbers)
        #expect(rejection("Python 3.8 is required.", "Python 3.9 is required.") == .numbers)
        #expect(rejection("Wait 5 s.", "Wait five seconds.") == nil)
    }

    @Test func quotedStringsMustAgree() {
        #expect(rejection("Click \"Save draft\" to keep it.", "Click \"Save copy\" to keep it.") == .quotes)
        #expect(rejection("Click “Save draft” to keep it.", "To keep it, click \"save draft\".") == nil)
    }

    @Test func negationMustAgree() {
        #expect(rejection("The cache stores streamed answers.", "The cache does not store streamed answers.") == .negation)
        #expect(rejection("You can load it offline.", "You cannot load it offline.") == .negation)
        #expect(rejection("It works with a GPU.", "It never works with a GPU.") == .negation)
        #expect(rejection("It is not only fast but small.", "It is fast and small.") == nil)  // "not only" does not negate
        #expect(rejection("Decide whether to cast or not.", "Decide whether to cast.") == nil)
        // "without" is not a cue: paraphrases trade it for "non-streaming", "no-code", "in the absence of".
        #expect(rejection("The archive is extracted without streaming.", "The archive is extracted in non-streaming mode.") == nil)
        #expect(rejection("It doesn't block.", "It does not block.") == nil)
        #expect(rejection("No, LOAD_HU doesn't exist in v2.10.0.", "LOAD_HU is not a feature of v2.10.0.") == nil)  // "No," answers
        #expect(rejection("No, it does not exist.", "It exists.") == .negation)
        // Counted, not just present: a second negation in a text that had one changes it too.
        #expect(rejection("Don't forget the token: you can write to the bucket.", "Don't forget the token: you cannot write to the bucket.") == .negation)
    }

    @Test func namedEntitiesMustAgree() {
        #expect(rejection("The loader supports data from Kaggle.", "The loader supports data from Zenodo.") == .entities)
        // The first word of a sentence is not a name because of its capital.
        #expect(rejection("Models are cached locally.", "Locally, models are cached.") == nil)
    }

    /// Off by default (cross-validation turned it off: paraphrases swap single words for synonyms
    /// far more often than near-duplicates swap the one word that matters).
    @Test func minimalContentSwapsAreDifferencesWhenTheCheckIsOn() {
        let verifier = SemanticVerifier(maximumSwappedWords: 2)
        func rejection(_ a: String, _ b: String) -> SemanticVerifier.Check? { verifier.rejection(a, b) }
        #expect(SemanticVerifier().maximumSwappedWords == 0)
        #expect(rejection("The cast method casts table values to another schema.", "The cast method casts array values to another schema.") == .content)
        #expect(rejection("How do I reset my password?", "How do I reset my username?") == .content)
        // Adding a word is not a swap.
        #expect(rejection("How do I reset my password?", "How do I quickly reset my password?") == nil)
        // Off, the same pair passes.
        #expect(SemanticVerifier().rejection("How do I reset my password?", "How do I reset my username?") == nil)
    }

    @Test func signatureReadsTheParts() {
        let signature = SemanticVerifier.Signature("Use `df.head()` on \"My Table\": 2,048 rows, not_null in NumPy; it can't fail. Kaggle hosts it.")
        #expect(signature.codeSpans == ["df.head"])
        #expect(signature.quotes == ["my table"])
        #expect(signature.numbers == ["2048"])
        #expect(signature.identifiers.isSuperset(of: ["not_null", "numpy", "df.head"]))
        #expect(signature.negated)
        // "Use", "My" (first in its quote) and "Kaggle" start sentences; NumPy is an identifier.
        #expect(signature.entities == ["tabl"])
    }

    @Test(arguments: [
        "", " ", "\0", "\0\0`\0\"\0", String(repeating: "`", count: 1001), String(repeating: "\"", count: 999), "!!!???...,,,;;;",
        "مرحبا بالعالم ‏`جدول`‏ 123", "שלום עולם `טבלה`", "👩‍👩‍👧 🤗 Datasets ☃︎", "\u{202E}reversed text\u{202C}", "e\u{301}\u{301}\u{301}",
        "1.2.3.4.5.6", "____", "a.b.c.d.e", "n't n't not", "'s's's", "(((())))", "`unterminated", "\"unterminated",
        "\u{FEFF}\u{200B}zero width", "١٢٣ ٤٥٦", "Ⅻ ½ ²",
    ])
    func hostileInputNeverTraps(text: String) {
        let signature = SemanticVerifier.Signature(text)
        _ = verifier.rejection(signature, signature)
        _ = verifier.rejection(signature, SemanticVerifier.Signature("How do I reset my password?"))
        #expect(verifier.rejection(signature, signature) == nil)
    }

    /// Random texts from the characters and words the checks read: the verdict never traps, a
    /// text always agrees with itself, and the verdict is the same either way round.
    @Test func randomTextsAreReflexiveAndSymmetric() {
        let pieces = [
            "`", "``", "\"", "\u{201C}", "\u{201D}", "\u{00AB}", "\u{00BB}", "'", "\u{2019}", "(", ")", "()", ".", ",", ":", "::", "-",
            "/", "_", "#", "$", "@", "%", "+", "~", "!", "?", ";", "\n", " ", " ", " ", "\0", "\u{200F}", "\u{202E}", "\u{301}",
            "\u{FEFF}", "🤗", "👩‍👩‍👧", "1", "1,000", "2.10.0", "3)", "٣", "½", "two", "not", "only", "or", "n't", "cannot",
            "never", "The", "Arrow", "column", "columns", "uint8", "snake_case", "camelCase", "ML", "machine", "learning",
            "e.g.", "jax.devices", "İstanbul", "ß", "ﬁle", "Ωmega", "شبكة", "טבלה",
        ]
        var state: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
        func text() -> String { (0..<next(40)).map { _ in pieces[next(pieces.count)] }.joined(separator: next(3) == 0 ? "" : " ") }
        for _ in 0..<2_000 {
            let a = SemanticVerifier.Signature(text())
            let b = SemanticVerifier.Signature(text())
            #expect(verifier.rejection(a, a) == nil)
            #expect(verifier.rejection(a, b) == verifier.rejection(b, a))
            let swaps = SemanticVerifier(maximumSwappedWords: 3)
            #expect(swaps.rejection(a, a) == nil && swaps.rejection(a, b) == swaps.rejection(b, a))
        }
    }

    @Test func largeInputsStayLinear() {
        let words = (0..<200_000).map { "w\($0 % 5000)" }.joined(separator: " ")  // ~1.3 MB
        let backticks = String(repeating: "`a` ", count: 250_000)  // 1 MB of spans
        let quotes = String(repeating: "\"x\" ", count: 250_000)
        let start = ContinuousClock.now
        for text in [words, backticks, quotes, String(repeating: "a", count: 1 << 20), String(repeating: "1,", count: 1 << 19)] {
            let signature = SemanticVerifier.Signature(text)
            #expect(verifier.rejection(signature, signature) == nil)
            _ = verifier.rejection(signature, SemanticVerifier.Signature("short"))
        }
        // Linear in the input: seconds would mean a quadratic step (this is a bound, not a benchmark).
        #expect(ContinuousClock.now - start < .seconds(60))
    }
}
