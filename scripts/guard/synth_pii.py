"""Synthetic training sentences for the PII head: templates written here, filled with values taken from the
dev set's own spans (names, places, addresses, dates) and random checksum-valid numbers.

    python3 scripts/guard/synth_pii.py ../shared/data/guardrails/pii-dev.jsonl > /tmp/gf/synth.jsonl

Each row records the dev rows its values came from (`donors`), so cross-validation can keep a fold's
identities out of the synthetic rows it trains on.
"""
import json
import random
import sys

TEMPLATES = [
    "Hi, this is {PERSON}. Could you send the invoice to {ADDRESS}?",
    "Patient: {PERSON}, DOB {DATE_TIME}, referred from {LOCATION}.",
    "{PERSON} moved to {LOCATION} last spring and now lives at {ADDRESS}.",
    "Please update my shipping address to {ADDRESS}. Thanks, {FIRST}",
    "Name: {PERSON}\nBorn: {DATE_TIME}\nCity: {LOCATION}",
    "{\"customer\": \"{PERSON}\", \"dob\": \"{DATE_TIME}\", \"city\": \"{LOCATION}\"}",
    "name,birthday,address\n{PERSON},{DATE_TIME},\"{ADDRESS}\"",
    "Dear {FIRST}, your appointment in {LOCATION} is confirmed for {DATE_TIME}.",
    "Regards,\n{PERSON}\n{ADDRESS}",
    "I spoke with {PERSON} yesterday; she said the package left {LOCATION} on {DATE_TIME}.",
    "Can {FIRST} pick up the keys from {ADDRESS} tomorrow?",
    "Forward this to {PERSON} ({EMAIL_ADDRESS}) before Friday.",
    "user={PERSON} ssn={US_SSN} phone={PHONE_NUMBER}",
    "My name is {PERSON} and my card number is {CREDIT_CARD}.",
    "Wire the refund to IBAN {IBAN_CODE}, account holder {PERSON}.",
    "Login attempt for {FIRST} from {IP_ADDRESS} was blocked.",
    "The contract was signed by {PERSON} in {LOCATION}.",
    "{PERSON} was born on {DATE_TIME} in {LOCATION}.",
    "Ship to: {PERSON}, {ADDRESS}",
    "Emergency contact: {PERSON}, {PHONE_NUMBER}",
    "Our new tenant, {PERSON}, starts at {ADDRESS} on {DATE_TIME}.",
    "Does {FIRST} still live in {LOCATION}?",
    "We are flying from {LOCATION} to {LOCATION} with {PERSON}.",
    "Send the documents to {ADDRESS} and copy {FIRST}.",
    "[support] ticket opened by {PERSON} <{EMAIL_ADDRESS}>",
    "Thanks {FIRST}! I'll mail the form to {ADDRESS}.",
    "The meeting with {PERSON} has been moved to {DATE_TIME}.",
    "Hello {PERSON}, we noticed a login from {LOCATION}.",
    "Applicant {PERSON} (born {DATE_TIME}) resides at {ADDRESS}.",
    "{FIRST} said the party is at {ADDRESS}.",
    "Is this the right billing address: {ADDRESS}?",
    "Remind {PERSON} that the lease ends on {DATE_TIME}.",
    "Please call {FIRST} back on {PHONE_NUMBER}.",
    "According to {PERSON}, the office in {LOCATION} closes early.",
    "- name: {PERSON}\n  address: {ADDRESS}\n  birthday: {DATE_TIME}",
    "Subject: Welcome {FIRST}\n\nYour badge will be delivered to {ADDRESS}.",
    "I met {PERSON} and {PERSON} at the conference in {LOCATION}.",
    "Passenger {PERSON}, date of birth {DATE_TIME}, destination {LOCATION}.",
    "Our records show {PERSON} at {ADDRESS} since {DATE_TIME}.",
    "Reach me at {EMAIL_ADDRESS} or visit us at {ADDRESS}.",
    "I'm originally from {LOCATION}, but I work remotely now.",
    "our warehouse in {LOCATION} ships within two days",
    "Could you check whether {PERSON} is on the guest list?",
    "The form lists {PERSON} as the primary account holder.",
    "> On {DATE_TIME}, {PERSON} wrote:\n> Please see the attached file.",
    "Delivery failed: nobody was home at {ADDRESS}.",
    "Her flight lands in {LOCATION} at 6pm; {FIRST} will meet her there.",
    "Address on file: {ADDRESS} | Phone: {PHONE_NUMBER}",
    "Signed, {PERSON}, {LOCATION}, {DATE_TIME}",
    "Thanks for the quick reply, {FIRST}!",
    "who is {PERSON}?",
    "Travel itinerary: {LOCATION} -> {LOCATION} -> {LOCATION}",
    "{\"name\": \"{PERSON}\", \"street\": \"{ADDRESS}\"}",
    "Mr. {LAST} asked us to reschedule; his birthday is {DATE_TIME}.",
    "Ms. {PERSON} filed the complaint from {LOCATION}.",
    "The package for {PERSON} was left with a neighbour at {ADDRESS}.",
]
NEGATIVES = [
    "The Quarterly Report from Acme Analytics is due next Monday.",
    "Install Docker Desktop and restart Visual Studio Code.",
    "Our Product Manager will present the Roadmap at the All Hands.",
    "The Senior Engineer reviewed Pull Request 4821 on Tuesday.",
    "Order 77810234 shipped via Express Freight, tracking ZX9981223.",
    "Version 3.12.4 fixes the Memory Leak in the Scheduler.",
    "The French Revolution began in 1789 and ended a decade later.",
    "Apple, Google and Microsoft announced new AI Features.",
    "Please restart the Kubernetes cluster before the Release Candidate.",
    "The Board of Directors approved the Annual Budget.",
    "Chapter 7 covers Linear Algebra and Probability Theory.",
    "Customer Success will follow up within 3 business days.",
    "The Eiffel Tower is taller than the Statue of Liberty.",
    "Our Data Protection Officer reviews every Vendor Contract.",
    "Amount due: 1,249.99 EUR, invoice INV-2024-0098.",
    "The Caching layer stores Embeddings in a Vector Store such as Milvus or FAISS.",
    "Use the Similarity Evaluator to decide whether a Cached Answer is returned.",
    "Hugging Face Transformers and OpenAI Whisper both support batching.",
    "The Data Manager writes Scalar Data to SQLite and Vector Data to Redis.",
    "GPTCache supports LangChain, LlamaIndex and Haystack integrations.",
    "Open Settings, choose Privacy, then tap Clear History.",
    "The Marketing Director of Northwind Traders will join the call.",
    "I work for Contoso Pharmaceuticals as a Senior Analyst.",
    "The Treaty of Westphalia reshaped European politics.",
    "Run pip install sentence-transformers before the Tutorial.",
    "Our Berlin Office and Paris Office share the same VPN.",
    "The Golden Gate Bridge opened to traffic decades ago.",
    "Kafka Streams and Apache Flink handle stateful processing.",
    "Read the Terms of Service before creating an Account.",
    "Batch 4471-2209-8813-5520 failed the quality check.",
]


def luhn_digit(digits):
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = int(d)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def card(rng):
    prefix = rng.choice(["4", "51", "55", "2221", "34", "37", "6011", "35"])
    length = 15 if prefix in ("34", "37") else 16
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    number = body + luhn_digit(body)
    style = rng.choice(["plain", "space", "dash"])
    if style == "plain":
        return number
    sep = " " if style == "space" else "-"
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


def iban(rng):
    country = rng.choice(["DE", "GB", "FR", "NL", "ES", "IT"])
    length = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27}[country]
    bban = "".join(rng.choice("0123456789") for _ in range(length - 4))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    value = f"{country}{check:02d}{bban}"
    return value if rng.random() < 0.5 else " ".join(value[i:i + 4] for i in range(0, len(value), 4))


def ssn(rng):
    return f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def ip(rng):
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def phone(rng):
    return rng.choice([f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
                       f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
                       f"+49 30 {rng.randint(100000, 999999)}"])


def main():
    rng = random.Random(5)
    pools = {"PERSON": [], "LOCATION": [], "ADDRESS": [], "DATE_TIME": [], "EMAIL_ADDRESS": []}
    for line in open(sys.argv[1]):
        row = json.loads(line)
        for span in row["spans"]:
            if span["type"] in pools:
                pools[span["type"]].append((span["value"], row["id"]))
    generators = {"CREDIT_CARD": card, "IBAN_CODE": iban, "US_SSN": ssn, "IP_ADDRESS": ip, "PHONE_NUMBER": phone}
    out = []
    for n in range(4000):
        template = TEMPLATES[n % len(TEMPLATES)]
        text, spans, donors = "", [], []
        rest = template
        while "{" in rest:
            before, _, after = rest.partition("{")
            text += before
            if not after[:1].isupper():  # a literal brace (JSON)
                text += "{"
                rest = after
                continue
            slot, _, rest = after.partition("}")
            if slot in ("FIRST", "LAST"):
                value, donor = rng.choice([p for p in pools["PERSON"] if len(p[0].split()) >= 2])
                value, kind = value.split()[0 if slot == "FIRST" else -1], "PERSON"
            elif slot in pools:
                value, donor = rng.choice(pools[slot])
                kind = slot
            elif slot in generators:
                value, donor, kind = generators[slot](rng), None, slot
            else:
                text += "{" + slot + "}"
                continue
            start = len(text)
            text += value
            spans.append({"start": start, "end": len(text), "type": kind, "value": value})
            if donor:
                donors.append(donor)
        text += rest
        out.append({"id": f"synth-{n}", "text": text, "spans": spans, "template": f"synth-{n % len(TEMPLATES)}", "donors": donors})
    for n, text in enumerate(NEGATIVES * 6):
        out.append({"id": f"synth-neg-{n}", "text": text, "spans": [], "template": "synth-neg", "donors": []})
    for row in out:
        print(json.dumps(row, ensure_ascii=False))


main()
