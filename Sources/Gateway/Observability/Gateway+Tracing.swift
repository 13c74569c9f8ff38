import Foundation
import SwitchyardCore
import Tracing

/// Spans in OpenTelemetry's GenAI conventions (`gen_ai.*`) plus `switchyard.request_id`. With no tracer bootstrapped
/// (`InstrumentationSystem`'s no-op default) they cost a few allocations; `serve` bootstraps `SwitchyardTracer` when an
/// OTLP endpoint is configured.
extension Gateway {
    /// `chat MODEL`, the name the client asked for (bounded).
    static func spanName(_ request: ChatRequest) -> String {
        "chat " + request.model.prefix(64)
    }

    static func describe(_ request: ChatRequest, context: CallContext, on span: any Span) {
        span.attributes["gen_ai.operation.name"] = "chat"
        span.attributes["gen_ai.request.model"] = String(request.model.prefix(256))
        span.attributes["switchyard.request_id"] = context.requestID
        span.attributes["switchyard.key"] = context.caller.name
        if let maxTokens = request.maxTokens { span.attributes["gen_ai.request.max_tokens"] = maxTokens }
        if let temperature = request.temperature, temperature.isFinite { span.attributes["gen_ai.request.temperature"] = temperature }
    }

    static func describe(_ outcome: CompletionOutcome, on span: any Span) {
        span.attributes["gen_ai.provider.name"] = outcome.provider
        span.attributes["gen_ai.response.model"] = outcome.model.upstream ?? outcome.model.name
        span.attributes["gen_ai.response.id"] = outcome.response.id
        if let usage = outcome.response.usage {
            span.attributes["gen_ai.usage.input_tokens"] = usage.promptTokens
            span.attributes["gen_ai.usage.output_tokens"] = usage.completionTokens
        }
        if let reason = outcome.response.choices.first?.finishReason?.rawValue {
            span.attributes["gen_ai.response.finish_reasons"] = [reason]
        }
        if outcome.costUSD.isFinite { span.attributes["switchyard.cost_usd"] = outcome.costUSD }
        if let cache = outcome.cache { span.attributes["switchyard.cache"] = cache }
    }
}
