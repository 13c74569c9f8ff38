import Foundation
import SwitchyardCore
import Testing
@testable import Tools

@Suite("Tool naming and SSE parsing")
struct NamingTests {
    static func server(_ name: String, _ prefix: MCPConfiguration.PrefixMode = .always, aliases: [String: String] = [:])
        -> MCPConfiguration.Server
    {
        MCPConfiguration.Server(name: name, transport: .http(url: "http://x", headers: [:]), prefix: prefix, aliases: aliases)
    }

    static func tools(_ names: String...) -> [ToolDescriptor] {
        names.map { ToolDescriptor(name: $0, server: "", originalName: $0, inputSchema: ["type": "object"]) }
    }

    @Test func prefixesAlwaysByDefaultInAStableOrder() {
        let (tools, notes) = ToolNaming.expose([
            .init(server: Self.server("time"), tools: Self.tools("get_current_time", "convert_time")),
            .init(server: Self.server("git"), tools: Self.tools("git_status", "git_log")),
        ])
        #expect(tools.map(\.name) == ["time__convert_time", "time__get_current_time", "git__git_log", "git__git_status"])
        #expect(tools.map(\.originalName) == ["convert_time", "get_current_time", "git_log", "git_status"])
        #expect(notes.isEmpty)
    }

    @Test func onCollisionPrefixesOnlyTheNamesThatCollide() {
        let (tools, _) = ToolNaming.expose([
            .init(server: Self.server("a", .onCollision), tools: Self.tools("search", "fetch")),
            .init(server: Self.server("b", .onCollision), tools: Self.tools("search", "ping")),
        ])
        #expect(tools.map(\.name) == ["fetch", "a__search", "ping", "b__search"])
    }

    @Test func neverKeepsTheFirstAndReportsTheRest() {
        let (tools, notes) = ToolNaming.expose([
            .init(server: Self.server("a", .never), tools: Self.tools("search")),
            .init(server: Self.server("b", .never), tools: Self.tools("search", "other")),
        ])
        #expect(tools.map(\.name) == ["search", "other"])
        #expect(tools.first?.server == "a")
        #expect(notes.count == 1 && notes[0].contains("'b'"))
    }

    @Test func aliasesWin() {
        let (tools, _) = ToolNaming.expose([
            .init(server: Self.server("time", aliases: ["get_current_time": "now"]), tools: Self.tools("get_current_time", "convert_time"))
        ])
        #expect(tools.map(\.name) == ["time__convert_time", "now"])
        #expect(tools.last?.originalName == "get_current_time")
    }

    @Test func resultTextJoinsTextItemsAndShowsOthersAsJSON() {
        let result = ToolResult(content: [["type": "text", "text": "a"], ["type": "image", "data": "AA==", "mimeType": "image/png"]])
        #expect(result.text.hasPrefix("a\n{"))
        #expect(result.text.contains("image/png"))
    }
}
