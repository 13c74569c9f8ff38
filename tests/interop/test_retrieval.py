"""Collections API and grounded chat, driven by the official openai SDK (`extra_body`).

A key without a document's group never sees it: not in search results, not in citations, and
not in what the upstream model is sent (checked at the mock)."""

from __future__ import annotations

import json
import subprocess
import time

import httpx
import openai
import pytest

from conftest import GATEWAY_KEY, HR_KEY, nonce, switchyard_binary

AUTH = {"authorization": f"Bearer {GATEWAY_KEY}"}
HR_AUTH = {"authorization": f"Bearer {HR_KEY}"}


@pytest.fixture
def collection(http: httpx.Client):
    name = f"interop-{nonce()}"
    public, secret = f"PUBLIC-{nonce()}", f"SECRET-{nonce()}"
    r = http.post("/v1/switchyard/collections", json={"name": name}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["embedding_model"] == "local/all-minilm-l6-v2"
    docs = {"documents": [
        {"id": "handbook", "title": "Handbook", "text": f"The office wifi password is {public}.",
         "metadata": {"year": 2021}},
        {"id": "salaries", "title": "Salaries", "text": f"The office bonus pool is {secret}.",
         "metadata": {"year": 2024}, "allowed": ["hr"]},
    ]}
    r = http.post(f"/v1/switchyard/collections/{name}/documents", json=docs, headers=AUTH)
    assert r.status_code == 200 and r.json()["added"] == 2, r.text
    again = http.post(f"/v1/switchyard/collections/{name}/documents", json=docs, headers=AUTH)
    assert again.json()["unchanged"] == 2
    yield name, public, secret
    assert http.delete(f"/v1/switchyard/collections/{name}", headers=AUTH).status_code == 200


def test_search_respects_groups_and_filters(http, collection):
    name, public, secret = collection
    body = {"query": "office wifi password bonus pool", "top_k": 10, "mode": "hybrid"}
    plain = http.post(f"/v1/switchyard/collections/{name}/search", json=body, headers=AUTH).json()
    assert [r["document_id"] for r in plain["results"]] == ["handbook"]
    assert secret not in json.dumps(plain)
    hr = http.post(f"/v1/switchyard/collections/{name}/search", json=body, headers=HR_AUTH).json()
    assert {r["document_id"] for r in hr["results"]} == {"handbook", "salaries"}
    result = hr["results"][0]
    assert set(result) >= {"document_id", "chunk_id", "score", "text", "metadata"}
    filtered = http.post(f"/v1/switchyard/collections/{name}/search",
                         json={**body, "filter": {"year": {"gte": 2022}}}, headers=HR_AUTH).json()
    assert [r["document_id"] for r in filtered["results"]] == ["salaries"]
    bad = http.post(f"/v1/switchyard/collections/{name}/search", json={"query": "x", "top_k": 0}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "top_k"


def test_grounded_chat_through_the_openai_sdk(stack, oai, mock, collection):
    name, public, secret = collection
    marker = nonce()
    retrieval = {"switchyard": {"retrieval": {"collection": name, "top_k": 8, "max_context_tokens": 2000}}}
    completion = oai.chat.completions.create(
        model="m-openai", messages=[{"role": "user", "content": f"What are the wifi password and bonus pool? {marker}"}],
        extra_body=retrieval)
    citations = completion.to_dict()["switchyard"]["citations"]
    assert [c["document_id"] for c in citations] == ["handbook"]
    assert {"document_id", "chunk_id", "score"} <= set(citations[0])
    sent = json.dumps(mock.only_request_containing(marker)["body"])
    assert public in sent and secret not in sent and '"switchyard"' not in sent

    hr = openai.OpenAI(api_key=HR_KEY, base_url=f"{stack.gateway}/v1", max_retries=0, timeout=30)
    try:
        marker = nonce()
        stream = hr.chat.completions.create(
            model="m-openai", messages=[{"role": "user", "content": f"What is the bonus pool? {marker}"}],
            stream=True, extra_body=retrieval)
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text
        final = chunks[-1].to_dict()
        assert final["choices"] == []
        assert "salaries" in {c["document_id"] for c in final["switchyard"]["citations"]}
        assert secret in json.dumps(mock.only_request_containing(marker)["body"])
    finally:
        hr.close()

    with pytest.raises(openai.NotFoundError) as missing:
        oai.chat.completions.create(model="m-openai", messages=[{"role": "user", "content": "q"}],
                                    extra_body={"switchyard": {"retrieval": {"collection": "no-such-collection"}}})
    assert missing.value.body["param"] == "switchyard.retrieval.collection"


def _wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_cli_ingest_reaches_the_running_gateway(stack, http, tmp_path):
    """`switchyard ingest` writes the gateway's database in another process; the gateway reloads the
    collection by itself (retrieval.sync_s), re-ingesting is a no-op, and --prune mirrors the folder."""
    name, marker = f"cli-{nonce()}", f"MARKER-{nonce()}"
    folder = tmp_path / "docs"
    (folder / "guide").mkdir(parents=True)
    (folder / "guide" / "deploy.md").write_text(f"# Deploy\n\n## Rollback\n\nRun deploy --revert. Code {marker}.\n")
    (folder / "faq.html").write_text("<html><head><title>FAQ</title><script>tracker()</script></head>"
                                     "<body><nav>menu</nav><p>The VPN address is vpn.example.com.</p></body></html>")
    (folder / "people.csv").write_text("id,name,team\n1,Ada,platform\n2,Linus,kernel\n")
    # Two records with one id: the later one wins, as an upsert would.
    (folder / "notes.jsonl").write_text('{"_id": "n1", "text": "old note"}\n{"_id": "n1", "text": "Latest note about backups."}\n')
    config = str(stack.workdir / "switchyard.yaml")

    def ingest(*extra: str) -> str:
        done = subprocess.run([str(switchyard_binary()), "ingest", str(folder), "--collection", name, "--config", config,
                               "--quiet", *extra], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    first = ingest()
    assert "5 documents (5 added, 0 updated, 0 unchanged)" in first, first
    assert "1 document(s) repeated an earlier id" in first
    assert "pages/s" in first
    # The CLI creates the collection before it writes the documents; the gateway may see either state
    # first, so wait for the final one.
    described = _wait_for(lambda: (r := http.get(f"/v1/switchyard/collections/{name}", headers=AUTH)).status_code == 200
                          and r.json()["documents"] == 5 and r.json())
    assert described["documents"] == 5
    note = http.post(f"/v1/switchyard/collections/{name}/search", json={"query": "note", "top_k": 10, "mode": "bm25"},
                     headers=AUTH).json()["results"]
    assert [r["text"] for r in note if r["document_id"] == "n1"] == ["Latest note about backups."]

    hits = http.post(f"/v1/switchyard/collections/{name}/search", json={"query": f"rollback {marker}", "top_k": 1},
                     headers=AUTH).json()["results"]
    assert hits[0]["document_id"] == "guide/deploy.md"
    assert hits[0]["metadata"]["headings"] == ["Deploy", "Rollback"]
    vpn = http.post(f"/v1/switchyard/collections/{name}/search", json={"query": "VPN address", "top_k": 1},
                    headers=AUTH).json()["results"][0]
    assert vpn["document_id"] == "faq.html" and "tracker" not in vpn["text"] and "menu" not in vpn["text"]

    assert "0 added, 0 updated, 5 unchanged" in ingest()

    (folder / "faq.html").unlink()
    pruned = ingest("--prune")
    assert "pruned 1 document(s)" in pruned, pruned
    _wait_for(lambda: http.get(f"/v1/switchyard/collections/{name}", headers=AUTH).json()["documents"] == 4)
    after = http.post(f"/v1/switchyard/collections/{name}/search", json={"query": "VPN address", "top_k": 10},
                      headers=AUTH).json()["results"]
    assert "faq.html" not in {r["document_id"] for r in after}
    assert http.delete(f"/v1/switchyard/collections/{name}", headers=AUTH).status_code == 200
