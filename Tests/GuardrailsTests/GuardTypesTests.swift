import Testing

@testable import Guardrails

@Suite("Guard types")
struct GuardTypesTests {
    @Test func typesUsePresidiosNames() {
        #expect(PIIType(rawValue: "EMAIL_ADDRESS") == .emailAddress)
        #expect(PIIType.usSSN.rawValue == "US_SSN")
        #expect(GuardChannel(rawValue: "tool_output") == .toolOutput)
    }
}
