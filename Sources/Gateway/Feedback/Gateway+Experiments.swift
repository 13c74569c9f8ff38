import Foundation
import Routing
import Storage
import SwitchyardCore

extension Gateway {
    /// The experiments a caller may ask for (by the same model globs as models, groups and routes).
    public func availableExperiments(for caller: Caller = .anonymous) -> [Experiment] {
        configuration.experiments.filter { GlobPattern.allows(caller.allowedModels, $0.name) }
    }

    /// When `request` asks for an experiment, picks its variant — sticky per `user`, else per
    /// episode, else per request — and returns the request aimed at the variant's target, with the
    /// assignment on the context (for the log, the `x-switchyard-variant` header and the key's model
    /// check: a key may use an experiment's targets through it). Anything else passes unchanged.
    /// Assigning twice gives the same answer, so the HTTP edge and the pipeline may both call it.
    public func assignVariant(_ request: ChatRequest, context: CallContext) -> (ChatRequest, CallContext) {
        if let assignment = context.experiment {
            guard request.model == assignment.experiment else { return (request, context) }
            var routed = request
            routed.model = assignment.target
            return (routed, context)
        }
        guard let experiment = configuration.experiments.first(where: { $0.name == request.model }),
            GlobPattern.allows(context.caller.allowedModels, experiment.name)
        else { return (request, context) }
        let unit: Experiment.Unit
        if let user = request.user, !user.isEmpty {
            unit = .user(user)
        } else if let episode = context.episodeID {
            unit = .episode(episode)
        } else {
            unit = .request(context.requestID)
        }
        let variant = experiment.variant(for: unit)
        var context = context
        context.experiment = ExperimentAssignment(experiment: experiment.name, variant: variant.name, target: variant.target, unit: unit.kind)
        var routed = request
        routed.model = variant.target
        return (routed, context)
    }

    /// `GET /v1/switchyard/experiments/{name}`: per variant, requests, cost, latency, errors and
    /// feedback, and each variant against the control (see `ExperimentReport`). Admins only.
    public func experimentReport(name: String, caller: Caller) async throws -> JSONValue {
        guard let experiment = configuration.experiments.first(where: { $0.name == name }) else {
            let known = configuration.experiments.map(\.name)
            throw SwitchyardError(
                code: .notFound,
                message: "No experiment '\(name.quotedPrefix(64))' is configured"
                    + (known.isEmpty ? " (the config has no `experiments:` section)." : " (experiments: \(known.joined(separator: ", "))."),
                status: 404, param: "name")
        }
        guard let store = requestLog.store else { return ExperimentReport.make(experiment, observations: .init()) }
        await requestLog.flushForRead()
        return ExperimentReport.make(experiment, observations: try await store.experimentObservations(experiment.name))
    }
}
