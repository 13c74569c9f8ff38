import ArgumentParser

/// `switchyard eval …`: quality evaluations that print figures.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluations that print quality figures.", subcommands: [EvalRunCommand.self, EvalPublishCommand.self, EvalCalibrateJudgeCommand.self, EvalRetrievalCommand.self])
}
