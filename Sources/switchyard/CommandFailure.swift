import ArgumentParser
import Foundation
import Retrieval
import SwitchyardCore

/// A command that ran and failed — as opposed to one that was called wrongly. It prints one line
/// (`Error: …`) and exits with a status that says what kind of failure it was; usage errors keep
/// ArgumentParser's behaviour (the message, the usage, status 64).
///
/// Statuses follow BSD's sysexits, so scripts can tell them apart:
///
/// | status | meaning |
/// |---|---|
/// | 1 | any other failure |
/// | 64 | usage (wrong arguments; ArgumentParser's) |
/// | 65 | bad data (a malformed data or router file) |
/// | 66 | not found (a request id, a file, a collection) |
/// | 69 | unavailable (the gateway or an upstream cannot be reached, or refused) |
/// | 70 | internal error |
/// | 75 | temporary (a port in use, a rate limit) |
/// | 77 | permission (a missing or wrong API key) |
/// | 78 | configuration (invalid, missing, or refused by a fail-closed check) |
struct CommandFailure: Error, CustomStringConvertible {
    enum Kind: Int32 {
        case failure = 1, dataError = 65, notFound = 66, unavailable = 69, software = 70, temporary = 75, permission = 77,
            configuration = 78
    }

    var message: String
    var kind: Kind

    init(_ message: String, _ kind: Kind = .failure) {
        self.message = message
        self.kind = kind
    }

    var description: String { message }

    /// A gateway's error answer, by its status.
    static func http(_ status: Int, _ message: String) -> CommandFailure {
        let kind: Kind
        switch status {
        case 401, 403: kind = .permission
        case 404: kind = .notFound
        case 429: kind = .temporary
        case 400..<500: kind = .dataError
        default: kind = .unavailable
        }
        return CommandFailure("HTTP \(status): \(message)", kind)
    }

    /// The failure a thrown error stands for (nil for ArgumentParser's own errors, which keep its behaviour).
    static func from(_ error: any Error) -> CommandFailure? {
        switch error {
        case let failure as CommandFailure:
            return failure
        case is ValidationError, is CleanExit, is ExitCode:
            return nil
        case _ where String(reflecting: type(of: error)).hasPrefix("ArgumentParser."):
            // ArgumentParser's own (`--help` and `help` arrive as errors thrown by its help command).
            return nil
        case let error as SwitchyardError:
            return CommandFailure(error.message, kind(of: error))
        case let error as LoaderError:
            return CommandFailure(error.description, .notFound)
        case is CancellationError:
            return CommandFailure("Cancelled.", .failure)
        default:
            return CommandFailure(String(describing: error), .failure)
        }
    }

    static func kind(of error: SwitchyardError) -> Kind {
        switch error.code {
        case .configuration: return .configuration
        case .notFound: return .notFound
        case .authentication, .permission: return .permission
        case .rateLimited, .budgetExceeded: return .temporary
        case .upstream, .upstreamTimeout, .upstreamUnreachable, .badUpstreamResponse: return .unavailable
        case .invalidRequest, .payloadTooLarge, .guardrailBlocked, .guardrailSchemaFailed, .conflict: return .dataError
        case .guardrailError, .storageUnavailable: return .unavailable
        case .internal: return .software
        }
    }
}

extension SwitchyardCommand {
    /// Parses and runs a command line; returns the exit status. Parse errors, `--help` and usage errors
    /// thrown by a command (`ValidationError`) exit the ArgumentParser way; runtime failures print one
    /// line on stderr and return their status.
    static func run(_ arguments: [String]) async -> Int32 {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
            return 0
        } catch {
            guard let failure = CommandFailure.from(error) else { exit(withError: error) }
            FileHandle.standardError.write(Data("Error: \(failure.message)\n".utf8))
            return failure.kind.rawValue
        }
    }
}
