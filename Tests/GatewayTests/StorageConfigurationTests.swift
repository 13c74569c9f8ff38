import Foundation
import Testing

@testable import Gateway
import SwitchyardCore

@Suite("storage.postgres and storage.spool in the config file")
struct StorageConfigurationTests {
    let models = """
        providers:
          - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: x}
        models:
          - {name: m, provider: p, price: {input: 1, output: 1}}
        """

    @Test func aPostgresURLAndASpoolAreTaken() throws {
        let configuration = try ConfigurationLoader.parse(models + """

            storage: {postgres: "postgres://sy:pw@db.internal:6543/switchyard?sslmode=require", spool: /var/spool/switchyard}
            """, source: "t.yaml")
        #expect(configuration.storage.postgresURL == "postgres://sy:pw@db.internal:6543/switchyard?sslmode=require")
        #expect(configuration.storage.spoolDirectory == "/var/spool/switchyard")
        // SQLite stays the default.
        let plain = try ConfigurationLoader.parse(models, source: "t.yaml")
        #expect(plain.storage.postgresURL == nil)
        #expect(plain.storage.sqlitePath == "switchyard.db")
    }

    @Test(arguments: [
        "mysql://u:hunter2@h/d", "postgres://u:hunter2@h:99999/d", "postgres://u:hunter2@h:1e309/d", "postgres://u:hunter2@h/",
        "postgres://u:hunter2@h/d?sslmode=sometimes", "postgres://u:hunter2@h/d?options=-c%20x", "postgres://:hunter2@h/d",
        "postgres://u:hunter2@\(String(repeating: "h", count: 1_048_576))/d", "postgres://u:hunter2@h:-1/d",
    ])
    func badURLsNameTheFieldAndNeverThePassword(url: String) {
        do {
            _ = try ConfigurationLoader.parse(models + "\nstorage: {postgres: \"\(url)\"}\n", source: "t.yaml")
            Issue.record("\(url.prefix(80)) was accepted")
        } catch let error as SwitchyardError {
            #expect(error.message.contains("storage.postgres"), "\(error.message)")
            #expect(!error.message.contains("hunter2"), "\(error.message)")
            #expect(error.message.utf8.count < 2000)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test(arguments: [
        "postgres: 5", "postgres: [a]", "postgres: {a: b}", "postgres: 1e309", "postgres: -1", "spool: \"\"", "spool: [x]", "spool: {a: {b: {c: [1, [2]]}}}",
        "spool: \"\(String(repeating: "s", count: 1_048_576))\"", "colour: red",
    ])
    func badShapesNameTheField(entry: String) {
        do {
            _ = try ConfigurationLoader.parse(models + "\nstorage: {\(entry)}\n", source: "t.yaml")
            Issue.record("\(entry) was accepted")
        } catch let error as SwitchyardError {
            #expect(error.message.contains("storage."), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
