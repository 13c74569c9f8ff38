import Foundation
import Testing

@testable import Guardrails

@Suite("PII patterns")
struct PIIPatternsTests {
    /// The spans of `text` as (value, type), values cut by code point offsets.
    private func found(_ text: String) -> [(String, PIIType)] {
        let scalars = Array(text.unicodeScalars)
        return PIIPatterns.find(in: text).map { span in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[span.start..<span.end])
            return (String(view), span.type)
        }
    }

    private func values(_ text: String, _ type: PIIType) -> [String] {
        found(text).filter { $0.1 == type }.map(\.0)
    }

    // MARK: Checksummed numbers

    @Test func cardsPassLuhnAndIssuerPrefixes() {
        #expect(values("Visa 4111 1111 1111 1111 on file", .creditCard) == ["4111 1111 1111 1111"])
        #expect(values("MC 5555-5555-5555-4444.", .creditCard) == ["5555-5555-5555-4444"])
        #expect(values("2-series 2223003122003222", .creditCard) == ["2223003122003222"])
        #expect(values("Amex 3782 822463 10005", .creditCard) == ["3782 822463 10005"])
        #expect(values("Discover 6011111111111117, JCB 3530111333300000", .creditCard) == ["6011111111111117", "3530111333300000"])
        #expect(values("Diners 3056 930902 5904", .creditCard) == ["3056 930902 5904"])
    }

    @Test func cardNearMissesAreNotCards() {
        // Luhn fails.
        #expect(found("Batch reference 4111 1111 1111 1112 is on the label.").isEmpty)
        // Luhn passes but no issuer starts with 1 or 9.
        #expect(found("Serial 1234567812345670 printed").isEmpty)
        // Part of a longer number.
        #expect(values("ref 41111111111111119", .creditCard).isEmpty)
    }

    @Test func ibansNeedTheirChecksumAndLength() {
        #expect(values("Pay to DE89 3704 0044 0532 0130 00 today", .ibanCode) == ["DE89 3704 0044 0532 0130 00"])
        #expect(values("IBAN GB82WEST12345698765432.", .ibanCode) == ["GB82WEST12345698765432"])
        #expect(values("NO: NO9386011117947", .ibanCode) == ["NO9386011117947"])
        #expect(found("Test DE89 3704 0044 0532 0130 01 must be rejected").isEmpty)
        // Right checksum, wrong length for Germany.
        #expect(values("DE89 3704 0044 0532 0130", .ibanCode).isEmpty)
    }

    @Test func ssnRulesAndContext() {
        #expect(values("SSN 123-45-6789.", .usSSN) == ["123-45-6789"])
        #expect(values("my social is 123 45 6789", .usSSN) == ["123 45 6789"])
        #expect(values("Social security number: 123456789", .usSSN) == ["123456789"])
        // Bare nine digits without a word that says SSN are not an SSN.
        #expect(values("Order 123456789 shipped", .usSSN).isEmpty)
        for invalid in ["000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"] {
            let text = "Form field accepted \(invalid), which is not a valid SSN."
            #expect(found(text).isEmpty, "\(invalid)")
        }
    }

    // MARK: E-mail and IP

    @Test func emails() {
        #expect(values("Write to Jane.Doe+tag@mail.example.co.uk.", .emailAddress) == ["Jane.Doe+tag@mail.example.co.uk"])
        #expect(values("<bob_s@example.org>", .emailAddress) == ["bob_s@example.org"])
        #expect(values("not an address: a@b, user@localhost", .emailAddress).isEmpty)
    }

    @Test func ipv4RangesAndVersions() {
        #expect(values("from 192.168.1.20, then 10.0.0.1.", .ipAddress) == ["192.168.1.20", "10.0.0.1"])
        #expect(found("After upgrading to firmware 3.10.257.12 the Wi-Fi drops.").isEmpty)
        #expect(found("Build 1.2.3.4.5 and 300.1.1.1").isEmpty)
        #expect(values("allow 10.0.0.0/8 and 192.168.1.0/24", .ipAddress) == ["10.0.0.0", "192.168.1.0"])
    }

    @Test func ipv6FullAndCompressed() {
        #expect(values("host 2001:0db8:85a3:0000:0000:8a2e:0370:7334 up", .ipAddress) == ["2001:0db8:85a3:0000:0000:8a2e:0370:7334"])
        #expect(values("gw 2001:db8::1, link fe80::1ff:fe23:4567:890a.", .ipAddress) == ["2001:db8::1", "fe80::1ff:fe23:4567:890a"])
        #expect(values("mapped ::ffff:192.0.2.128 here", .ipAddress) == ["::ffff:192.0.2.128"])
        // Times, MAC addresses and C++ scopes are not addresses.
        #expect(found("at 10:30:00, MAC 00:1a:2b:3c:4d:5e, std::vector, a::b, 1::2::3").isEmpty)
    }

    // MARK: Phones

    @Test func usPhoneFormats() {
        for phone in ["(555) 123-4567", "555-123-4567", "555.123.4567", "+1 555 123 4567", "+1-415-555-2671", "1-800-555-0199"] {
            #expect(values("Call me at \(phone) tomorrow.", .phoneNumber) == [phone], "\(phone)")
        }
    }

    @Test func internationalAndLocalPhones() {
        for phone in [
            "+44 20 7946 0958", "+49 30 12345678", "+33 6 12 34 56 78", "+91 98765 43210", "+81 3-1234-5678",
            "+61 (02) 9876 5432", "+34 612 345 678", "+39 06 1234 5678", "+31 20 123 4567", "+55 11 91234-5678",
            "+353 1 234 5678", "0151 23456789", "07700 900123", "(02) 9876 5432", "02.36.65.22.11",
        ] {
            #expect(values("You can reach her on \(phone).", .phoneNumber) == [phone], "\(phone)")
        }
        // Short local numbers count next to a phone word only.
        #expect(values("Phone: 453 2590", .phoneNumber) == ["453 2590"])
        #expect(values("Her number is 26 170863.", .phoneNumber) == ["26 170863"])
        #expect(values("Room 453 2590 is booked", .phoneNumber).isEmpty)
    }

    @Test func numbersThatAreNotPhones() {
        for text in [
            "Where is my order #5836171? It was supposed to arrive already.",
            "Where is my order ORD-2025-230781?",
            "The textbook ISBN is 978-3-16-148410-0, second edition.",
            "Tracking number 1Z999AA10123456784 shows the parcel in transit.",
            "The invoice total is $2833.89 including VAT.",
            "The invoice total is 6232,11 EUR including VAT.",
            "Form field accepted 681-53-0000, which is not a valid SSN.",
            "Batch reference 2686 6105 4675 9647 is listed on the pallet label.",
            "Call the order line about order 12345678.",
            "3... 2... 1... liftoff!",
        ] {
            #expect(values(text, .phoneNumber).isEmpty, "\(text)")
        }
    }

    // MARK: Dates

    @Test func dateFormats() {
        for date in [
            "1985-03-14", "03/14/1985", "14.03.1985", "14/03/1985", "3/7/85", "March 14, 1985", "14 March 1985",
            "Mar 14 1985", "Mar. 14, 1985", "14th of March 1985", "March 14th, 1985", "March 1985", "14. März 1985",
            "14 de marzo de 1985", "2023-08-06 at 10:30", "24.10.2015 09:00", "2024-01-05T10:30:00Z", "March 24, 2017 8:54 pm",
        ] {
            #expect(values("She was born on \(date). Thanks", .dateTime) == [date], "\(date)")
        }
    }

    @Test func notDates() {
        for text in [
            "We met in 1985 and again next week.", "See you on Monday!", "He just turned 82 years old.",
            "Version 1.25.99 is out", "Ratio 13/45/2000 is odd", "You may 2 times", "the 32.13.1985 value", "Mars 2020 landed",
        ] {
            #expect(values(text, .dateTime).isEmpty, "\(text)")
        }
    }

    // MARK: Secrets

    @Test func secrets() {
        let aws = "AKIAIOSFODNN7EXAMPLE"
        let gh = "ghp_" + String(repeating: "a1B2", count: 9)
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        #expect(values("key \(aws) leaked", .secret) == [aws])
        #expect(values("token=\(gh)", .secret) == [gh])
        #expect(values("Authorization: Bearer \(jwt)", .secret) == [jwt])
        #expect(values("use sk-proj-Abc123def456GHI789jkl012 now", .secret) == ["sk-proj-Abc123def456GHI789jkl012"])
        #expect(values("api_key = \"q8Zr1xTmW0pL4sVb9K\"", .secret) == ["q8Zr1xTmW0pL4sVb9K"])
        #expect(values("password: password1234", .secret).isEmpty)  // a guessable value, not a random token
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"
        #expect(values("key:\n\(pem)\nend", .secret) == [pem])
    }

    // MARK: Addresses

    @Test func preciseAddressParts() {
        #expect(values("Ship to 1317 Kimberly Way please", .address) == ["1317 Kimberly Way"])
        #expect(values("lives at Hauptstraße 5 in town", .address) == ["Hauptstraße 5"])
        #expect(values("Office: Via Pisanelli 104", .address) == ["Via Pisanelli 104"])
        #expect(values("Suite 400, floor", .address) == ["Suite 400"])
        #expect(values("Apt. 12", .address) == ["Apt. 12"])
        #expect(values("Grand Rapids, MI 49503", .address) == ["49503"])
        #expect(values("London SW1A 1AA", .address) == ["SW1A 1AA"])
    }

    // MARK: Frames

    @Test func csvJSONAndLogFrames() {
        let csv = found("Jane,Doe,4111111111111111,123-45-6789,1985-03-14,+1 555 234 5678")
        #expect(csv.map(\.0) == ["4111111111111111", "123-45-6789", "1985-03-14", "+1 555 234 5678"])
        #expect(csv.map(\.1) == [.creditCard, .usSSN, .dateTime, .phoneNumber])

        let json = found(#"{"ssn":"123456789","phone":"+44 (0)20 7946 0958","dob":"14/03/1985"}"#)
        #expect(json.map(\.0) == ["123456789", "+44 (0)20 7946 0958", "14/03/1985"])

        // A port after an IPv4 address is not part of it.
        let log = found("2024-05-01 12:00:03 INFO client 10.0.0.1:8080 connected from [2001:db8::1]:443")
        #expect(log.map(\.0) == ["2024-05-01 12:00:03", "10.0.0.1", "2001:db8::1"])

        #expect(found("SSN:123-45-6789 DOB:03/14/1985 Tel:0151 23456789").map(\.1) == [.usSSN, .dateTime, .phoneNumber])
    }

    @Test func oneLineAddressesExtendOverPostcodeAndCity() {
        #expect(values("Visit 221B Baker Street, London NW1 6XE, today", .address) == ["221B Baker Street, London NW1 6XE"])
        #expect(values("at 1600 Pennsylvania Avenue NW, Washington, DC 20500.", .address)
            == ["1600 Pennsylvania Avenue NW, Washington, DC 20500"])
        #expect(values("Adresse Hauptstraße 5, 10115 Berlin", .address) == ["Hauptstraße 5, 10115 Berlin"])
        #expect(values("now at Grazer Strasse 10, 8045 Graz.", .address) == ["Grazer Strasse 10, 8045 Graz"])
        #expect(values("ul. Ormiańska 139, 92-215 Łódź", .address) == ["ul. Ormiańska 139, 92-215 Łódź"])
        #expect(values("4652 Parkdale Ave, K6H 6Y4 Cornwall", .address) == ["4652 Parkdale Ave, K6H 6Y4 Cornwall"])
        #expect(values("send to 136 Filadelfeos Str., 2600 Klirou", .address) == ["136 Filadelfeos Str., 2600 Klirou"])
        // A unit after the street is a span of its own; "FL" before a number is Florida, not a floor.
        #expect(values("50 Avenida Almirante Reis Apt 666C", .address) == ["50 Avenida Almirante Reis", "Apt 666C"])
        #expect(values("Almere FL 1335 GE", .address).isEmpty)
    }

    @Test func everydayNumbersAreNotPII() {
        #expect(found("Call 911 now. Pages 123-456. Score 10-7. Years 1990-2000. Total $1,234,567.89. Take 0.5 mg 3 times.").isEmpty)
        #expect(found("firmware v1.2.3.4 and version 10.2.3.4").isEmpty)
    }

    // MARK: Offsets, order, hostile input

    @Test func offsetsCountCodePoints() {
        // 👩‍💻 is three scalars (woman, zero-width joiner, laptop); 😀 is one scalar but two UTF-16 units.
        let text = "👩‍💻😀 mail bob@example.com or call 555-234-5678"
        let spans = PIIPatterns.find(in: text)
        #expect(spans.count == 2)
        #expect(spans.first.map { [$0.start, $0.end] } == [10, 25])
        #expect(spans.first?.type == .emailAddress)
        #expect(spans.last.map { [$0.start, $0.end] } == [34, 46])
    }

    @Test func spansAreSortedAndDisjoint() {
        let text = "Jane, SSN 123-45-6789, DOB 02.12.1935, phone +44 20 7946 0958, card 4111-1111-1111-1111, IP 8.8.8.8."
        let spans = PIIPatterns.find(in: text)
        #expect(spans.map(\.type) == [.usSSN, .dateTime, .phoneNumber, .creditCard, .ipAddress])
        for (a, b) in zip(spans, spans.dropFirst()) { #expect(a.end <= b.start) }
    }

    @Test func hostileInputsFinishAndDoNotTrap() {
        let inputs = [
            String(repeating: "7", count: 200_000),
            String(repeating: "1 ", count: 50_000),
            String(repeating: "1.", count: 50_000),
            String(repeating: "4111-", count: 20_000),
            String(repeating: "@a.", count: 30_000),
            String(repeating: "-----BEGIN PRIVATE KEY-----", count: 4_000),
            String(repeating: "DE89 ", count: 20_000),
            String(repeating: "\u{E0041}\u{200B}\u{0301}\u{FFFF}", count: 10_000),
            String(repeating: "March 1, ", count: 10_000),
            String(repeating: "+", count: 100_000),
        ]
        let clock = ContinuousClock()
        for input in inputs {
            let elapsed = clock.measure { _ = PIIPatterns.find(in: input) }
            // Generous for unoptimised debug builds on a loaded machine; quadratic behaviour would take minutes.
            #expect(elapsed < .seconds(20))
        }
        #expect(PIIPatterns.find(in: "").isEmpty)
    }
}
