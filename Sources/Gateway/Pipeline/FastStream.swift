import Foundation
import NIOCore
import Providers
import SwitchyardCore

/// One streamed answer on the fast path (issue 26): an OpenAI upstream's event stream relayed to an
/// OpenAI client as bytes. Each event is scanned (`JSONScanner`), never decoded: its usage is read,
/// the size of the output it carries counted, and it goes to the client as the upstream framed its
/// data. The full path's contract holds — events are held until one carries output, so a failure
/// before that is still invisible and the full path retries it; the upstream's usage chunk is not
/// passed on, the gateway's own (usage with cost and the `switchyard` extension) ends the stream when
/// the client asked for usage; an upstream failure after output is OpenAI's mid-stream error event.
///
/// Not thread-safe: it lives on the event loop of its client connection, as the exchange does.
public final class FastStream {
    public enum Step {
        /// Nothing for the client yet: no event has carried output.
        case hold
        /// Events for the client; the first such step starts the response.
        case output(ByteBuffer)
        /// The stream is over and booked: the last bytes (the usage chunk, `[DONE]`) and, when events were
        /// still held, those before them.
        case end(ByteBuffer)
        /// The upstream's stream cannot be used. Before output, the full path takes the request
        /// (`Gateway.fastStreamFailed`); after it, `fail(_:)` books it and gives the error event.
        case failed(SwitchyardError)
    }

    public let call: FastCall
    /// The most bytes of events held before one carries output.
    static let maximumHeldBytes = 4 * 1024 * 1024
    private let gateway: Gateway
    private var parser = EventStreamParser(format: .serverSentEvents)
    private var accounting: StreamAccounting
    /// True once an event with output went to the client (the response has started).
    public private(set) var started = false
    /// True once booked (ended, failed after output, or cancelled).
    public private(set) var finished = false
    private var held = ByteBuffer()
    private var sawDone = false
    private var sawFinish = false
    /// The first event's `id`, `created` and `model` values as sent (valid JSON), for the gateway's usage chunk.
    private var chunkID: String?
    private var created: String?
    private var modelJSON: String?

    /// What the response's headers say: the deployment, its provider and the route so far.
    public var model: ModelSpec { call.step.model }
    public var provider: String { call.provider }
    public var admission: RateLimitAdmission? { call.context.admission }
    public var trace: RouteTrace { accounting.record.route ?? call.record.route ?? RouteTrace(requested: call.request.model, kind: "model") }

    init(call: FastCall, gateway: Gateway) {
        self.call = call
        self.gateway = gateway
        var record = call.record
        record.route?.attempts.append(gateway.attempt(call.step, provider: call.provider, retry: 0, status: 200, started: call.started))
        record.route?.notes.append("fast path")
        record.provider = call.provider
        record.upstreamModel = call.step.model.upstream
        record.servedModel = call.step.model.name
        accounting = StreamAccounting(
            request: call.request, model: call.step.model, context: call.context, record: record, attemptStartedAt: call.started)
        accounting.reservation = call.reservation
    }

    /// Bytes of the upstream's body as they arrive.
    public func feed(_ buffer: ByteBuffer) -> Step {
        guard !finished, !sawDone else { return .hold }
        let messages: [StreamMessage]
        do {
            messages = try buffer.withUnsafeReadableBytes { try parser.feed($0) }
        } catch {
            return .failed(tooLarge())
        }
        return take(messages, ending: false)
    }

    /// The upstream's body ended: the stream is complete when it said `[DONE]` or gave a finish reason.
    public func upstreamEnded() -> Step {
        guard !finished else { return .hold }
        let messages: [StreamMessage]
        do {
            messages = try parser.finish()
        } catch {
            return .failed(tooLarge())
        }
        return take(messages, ending: true)
    }

    /// Books a stream that failed after output (the caller writes OpenAI's mid-stream error event).
    public func fail(_ error: SwitchyardError) {
        guard !finished else { return }
        finished = true
        gateway.finish(accounting, error: error)
    }

    /// The client went away after output: booked as the full path books it.
    public func cancel() {
        guard !finished else { return }
        finished = true
        gateway.finish(accounting, error: CancellationError())
    }

    private func take(_ messages: [StreamMessage], ending: Bool) -> Step {
        var out = ByteBuffer()
        for message in messages where !sawDone {
            if let failure = relay(message.data, into: &out) { return .failed(failure) }
        }
        let over = sawDone || ending
        // Some compatible servers omit [DONE]; a finish reason is enough to call the stream complete.
        if over, !sawDone, !sawFinish { return .failed(SwitchyardError.streamEndedEarly(provider: call.provider)) }
        if !started {
            // As the full path: events are held until one carries output; a stream that ends first is passed on
            // as it is, unless it had no events at all.
            guard sawOutput || (over && (held.readableBytes > 0 || out.readableBytes > 0)) else {
                if over {
                    return .failed(SwitchyardError.emptyStream(provider: call.provider))
                }
                held.writeBuffer(&out)
                guard held.readableBytes <= Self.maximumHeldBytes else {
                    return .failed(
                        SwitchyardError(
                            code: .badUpstreamResponse,
                            message: "Provider '\(call.provider)' sent over \(Self.maximumHeldBytes / (1024 * 1024)) MiB of stream without any output.",
                            status: 502))
                }
                return .hold
            }
            started = true
            var all = held
            held = ByteBuffer()
            all.writeBuffer(&out)
            out = all
        }
        if over {
            finished = true
            let (usage, cost) = gateway.finish(accounting)
            closing(usage: usage, cost: cost, into: &out)
            return .end(out)
        }
        return out.readableBytes > 0 ? .output(out) : .hold
    }

    private var sawOutput = false

    /// Scans one event and writes what the client gets of it; returns the failure it reports, if any.
    private func relay(_ data: String, into out: inout ByteBuffer) -> SwitchyardError? {
        if data == "[DONE]" {
            sawDone = true
            return nil
        }
        var data = data
        return data.withUTF8 { raw -> SwitchyardError? in
            let bytes = UnsafeRawBufferPointer(raw)
            guard let (members, _) = JSONScanner.members(bytes) else { return relayDecoded(Data(bytes), into: &out) }
            if let error = JSONScanner.member("error", in: members, of: bytes), !Self.isNull(error.value, in: bytes) {
                let text = JSONValue.parse(String(decoding: bytes[error.value], as: UTF8.self))?["message"]?.stringValue ?? "stream failed"
                return SwitchyardError.midStream(provider: call.provider, message: text)
            }
            if chunkID == nil {
                chunkID = JSONScanner.member("id", in: members, of: bytes).map { String(decoding: bytes[$0.value], as: UTF8.self) }
                created = JSONScanner.member("created", in: members, of: bytes).map { String(decoding: bytes[$0.value], as: UTF8.self) }
                modelJSON = JSONScanner.member("model", in: members, of: bytes).map { String(decoding: bytes[$0.value], as: UTF8.self) }
            }
            var usage: Usage?
            let usageMember = JSONScanner.member("usage", in: members, of: bytes)
            if let usageMember, bytes[usageMember.value.lowerBound] == UInt8(ascii: "{") {
                // An implausible usage is as good as none: the stream's own estimate stands.
                usage = try? JSONDecoder().decode(Usage.self, from: Data(bytes[usageMember.value]))
            }
            var choiceCount = 0
            var outputBytes = 0
            if let choices = JSONScanner.member("choices", in: members, of: bytes) {
                guard let scanned = Self.scanChoices(UnsafeRawBufferPointer(rebasing: bytes[choices.value])) else {
                    return SwitchyardError.badStreamData(provider: call.provider)
                }
                choiceCount = scanned.count
                outputBytes = scanned.outputBytes
                if scanned.output { sawOutput = true }
                if scanned.finished { sawFinish = true }
            }
            accounting.observe(outputBytes: outputBytes, usage: usage)
            guard let usageMember, !Self.isNull(usageMember.value, in: bytes) else {
                Self.frame(bytes, into: &out)
                return nil
            }
            // The upstream's usage chunk is the gateway's to send (with cost); on a chunk with choices, it is nulled.
            guard choiceCount > 0 else { return nil }
            out.writeString("data: ")
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[..<usageMember.value.lowerBound]))
            out.writeString("null")
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[usageMember.value.upperBound...]))
            out.writeString("\n\n")
            return nil
        }
    }

    /// An event the scan cannot vouch for (invalid UTF-8 in a string, say) goes through `ChatChunk` as every
    /// event does on the full path: decoded (or refused), its usage taken out, encoded again.
    private func relayDecoded(_ data: Data, into out: inout ByteBuffer) -> SwitchyardError? {
        if let error = JSONValue.parse(data)?["error"], error != .null {
            let text = error["message"]?.stringValue ?? "stream failed"
            return SwitchyardError.midStream(provider: call.provider, message: text)
        }
        guard var chunk = try? JSONDecoder().decode(ChatChunk.self, from: data) else { return SwitchyardError.badStreamData(provider: call.provider) }
        accounting.observe(chunk)
        if chunk.carriesOutput { sawOutput = true }
        if chunk.choices.contains(where: { $0.finishReason != nil }) { sawFinish = true }
        if chunkID == nil {
            chunkID = JSONValue.string(chunk.id).compactJSON()
            created = String(chunk.created)
            modelJSON = JSONValue.string(chunk.model).compactJSON()
        }
        if chunk.usage != nil {
            chunk.usage = nil
            if chunk.choices.isEmpty { return nil }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let encoded = try? encoder.encode(chunk) else { return SwitchyardError.badStreamData(provider: call.provider) }
        out.writeString("data: ")
        out.writeBytes(encoded)
        out.writeString("\n\n")
        return nil
    }

    /// What the choices of one chunk carry: how many there are, whether any carries output (content,
    /// refusal, tool calls or a finish reason, as `ChatChunk.carriesOutput`), and the bytes of it.
    static func scanChoices(_ bytes: UnsafeRawBufferPointer) -> (count: Int, output: Bool, finished: Bool, outputBytes: Int)? {
        guard let elements = JSONScanner.elements(bytes) else { return nil }
        var output = false
        var finished = false
        var outputBytes = 0
        for element in elements {
            let choice = UnsafeRawBufferPointer(rebasing: bytes[element])
            guard let (members, _) = JSONScanner.members(choice) else { return nil }
            if let reason = JSONScanner.member("finish_reason", in: members, of: choice), !isNull(reason.value, in: choice) {
                output = true
                finished = true
            }
            guard let delta = JSONScanner.member("delta", in: members, of: choice), choice[delta.value.lowerBound] == UInt8(ascii: "{") else {
                continue
            }
            let deltaBytes = UnsafeRawBufferPointer(rebasing: choice[delta.value])
            guard let (fields, _) = JSONScanner.members(deltaBytes) else { return nil }
            for name in [StaticString("content"), "refusal"] {
                // A string's value range includes its quotes: more than two bytes is text.
                if let field = JSONScanner.member(name, in: fields, of: deltaBytes), deltaBytes[field.value.lowerBound] == UInt8(ascii: "\""),
                    field.value.count > 2
                {
                    output = true
                    outputBytes += field.value.count - 2
                }
            }
            if let calls = JSONScanner.member("tool_calls", in: fields, of: deltaBytes), deltaBytes[calls.value.lowerBound] == UInt8(ascii: "["),
                let list = JSONScanner.elements(UnsafeRawBufferPointer(rebasing: deltaBytes[calls.value])), !list.isEmpty
            {
                output = true
                outputBytes += calls.value.count
            }
        }
        return (elements.count, output, finished, outputBytes)
    }

    /// The gateway's last chunk (when the client asked for usage) and `[DONE]`.
    private func closing(usage: Usage, cost: Double, into out: inout ByteBuffer) {
        if call.request.includeUsage {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let usageJSON = (try? encoder.encode(usage)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
            let modelJSON = self.modelJSON ?? JSONValue.string(call.step.model.upstream ?? call.step.model.name).compactJSON()
            out.writeString("data: {\"id\":\(chunkID ?? "\"\""),\"object\":\"chat.completion.chunk\",\"created\":")
            out.writeString(created ?? String(Int(Date().timeIntervalSince1970)))
            out.writeString(",\"model\":\(modelJSON),\"choices\":[],\"usage\":\(usageJSON),\"switchyard\":")
            out.writeString(accounting.extensionObject(cost: cost, usage: usage).compactJSON())
            out.writeString("}\n\n")
        }
        out.writeString("data: [DONE]\n\n")
    }

    private func tooLarge() -> SwitchyardError {
        SwitchyardError.streamEventTooLarge(provider: call.provider, limit: EventStreamParser.defaultMaximumEventBytes)
    }

    private static func frame(_ bytes: UnsafeRawBufferPointer, into out: inout ByteBuffer) {
        out.writeString("data: ")
        out.writeBytes(bytes)
        out.writeString("\n\n")
    }

    private static func isNull(_ range: Range<Int>, in bytes: UnsafeRawBufferPointer) -> Bool {
        range.count == 4 && bytes[range.lowerBound] == UInt8(ascii: "n")
    }
}
