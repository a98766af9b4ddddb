"""url_filter: domain/substring/regex rules from files, the matching rule in reason_detail, real URLs."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from curator.registry import stage_class
from curator.stage import run_batch_stage
from curator.urlfilter.rules import UrlRules, normalize_domain, url_host
from curator.urlfilter.stage import URL_FILTER_REASONS, UrlFilterConfig, UrlFilterStage


# Real URLs from the Common Crawl WARC head and the article-extraction benchmark in ../shared/data, written out
# here so the test runs without that folder.
REAL_URLS = [
    "http://003338.cn/l41/481397.html",
    "http://01spb.ru/company/",
    "http://0615235.com/02mjqjo%7Bibotij2.btq?odmbtt=106&tdmbtt=121",
    "http://06.live-radsport.ch/fahrerstatistik_801/Anthony_Ravard.html",
    "http://0900-hovenier.nl/gelderland/oosterbeek/",
    "https://an.wikipedia.org/wiki/Escopete",
    "http://www.uraharajuku.st/shopdetail/001005000005/019/000/order/",
]


def docs(urls):
    return [{"id": str(i), "text": "some text", "url": url} for i, url in enumerate(urls)]


def run(config: UrlFilterConfig, urls):
    kept, rejected = run_batch_stage(UrlFilterStage(config), docs(urls))
    return {d["url"] for d in kept}, {d["url"]: d["reason_detail"] for d in rejected}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_domain_rules_block_the_domain_and_its_subdomains_only(tmp_path):
    domains = write(tmp_path, "domains.txt", "# spam\n\nlive-radsport.ch   # sports stats\nWIKIPEDIA.org.\n*.cn\n")
    kept, rejected = run(UrlFilterConfig(domain_files=[domains]), REAL_URLS + [
        "https://notwikipedia.org/x", "https://wikipedia.org.evil.com/", "HTTPS://EN.Wikipedia.ORG:443/wiki/X"])
    assert rejected == {
        "http://06.live-radsport.ch/fahrerstatistik_801/Anthony_Ravard.html": "domain:live-radsport.ch",
        "https://an.wikipedia.org/wiki/Escopete": "domain:wikipedia.org",
        "http://003338.cn/l41/481397.html": "domain:cn",
        "HTTPS://EN.Wikipedia.ORG:443/wiki/X": "domain:wikipedia.org",
    }
    assert "https://notwikipedia.org/x" in kept and "https://wikipedia.org.evil.com/" in kept


def test_substring_and_regex_rules_name_the_rule(tmp_path):
    substrings = write(tmp_path, "sub.txt", "# comment\n/Company/\n%7b\n")
    regexes = write(tmp_path, "re.txt", r"\.html\?\d" "\n" r"/wiki/[A-Z]\w+$" "\n")
    kept, rejected = run(UrlFilterConfig(substring_files=[substrings], regex_files=[regexes]), REAL_URLS)
    assert rejected == {
        "http://01spb.ru/company/": "substring:/company/",
        "http://0615235.com/02mjqjo%7Bibotij2.btq?odmbtt=106&tdmbtt=121": "substring:%7b",
        "https://an.wikipedia.org/wiki/Escopete": r"regex:/wiki/[A-Z]\w+$",
    }
    assert len(kept) == len(REAL_URLS) - 3


def test_url_missing_is_kept_by_default_or_rejected(tmp_path):
    urls = [None, "", "http://01spb.ru/company/"]
    kept, rejected = run(UrlFilterConfig(domains=["example.com"]), urls)
    assert rejected == {} and len(kept) == 3
    stage = UrlFilterStage(UrlFilterConfig(domains=["example.com"], on_missing_url="reject"))
    kept, rejected = run_batch_stage(stage, docs(urls))
    assert [r["reason"] for r in rejected] == ["url_missing", "url_missing"] and len(kept) == 1


def test_every_reason_has_a_test_and_is_declared():
    assert UrlFilterStage.reasons == URL_FILTER_REASONS == ("url_blocked", "url_missing")
    assert stage_class("url_filter") is UrlFilterStage


def test_bad_rules_are_spec_errors_naming_file_and_line(tmp_path):
    bad_regex = write(tmp_path, "re.txt", "# ok\nfine\n(unclosed\n")
    with pytest.raises(ValidationError, match=r"re\.txt:3: invalid regex"):
        UrlFilterConfig(regex_files=[bad_regex])
    with pytest.raises(ValidationError, match="scoped group"):
        UrlFilterConfig(regexes=["(?i)casino"])
    with pytest.raises(ValidationError, match="not found: nope.txt"):
        UrlFilterConfig(domain_files=["nope.txt"])
    with pytest.raises(ValidationError, match=r"dom\.txt:1: not a domain"):
        UrlFilterConfig(domain_files=[write(tmp_path, "dom.txt", "two words\n")])
    with pytest.raises(ValidationError, match="no rules"):
        UrlFilterConfig(domain_files=[write(tmp_path, "empty.txt", "# nothing yet\n")])
    with pytest.raises(ValidationError, match="on_missing_url"):
        UrlFilterConfig(domains=["a.com"], on_missing_url="drop")


def test_editing_a_rule_file_changes_the_fingerprint(tmp_path):
    path = write(tmp_path, "domains.txt", "example.com\n")
    before = UrlFilterConfig(domain_files=[path]).model_dump_json()
    write(tmp_path, "domains.txt", "example.com\nexample.org\n")
    assert UrlFilterConfig(domain_files=[path]).model_dump_json() != before


def test_stage_pickles_with_its_rules_for_workers(tmp_path):
    import pickle

    stage = UrlFilterStage(UrlFilterConfig(domain_files=[write(tmp_path, "d.txt", "01spb.ru\n")]))
    (tmp_path / "d.txt").unlink()  # workers need no copy of the file
    copy = pickle.loads(pickle.dumps(stage))
    _, rejected = run_batch_stage(copy, docs(REAL_URLS))
    assert [r["reason_detail"] for r in rejected] == ["domain:01spb.ru"]


def test_hosts_are_normalised():
    assert url_host("http://[::1") is None  # malformed: no host, no crash
    assert url_host("https://Bücher.Example/") == "xn--bcher-kva.example"
    assert normalize_domain("bücher.example") == "xn--bcher-kva.example"
    assert UrlRules.load(domains=["bücher.example"]).match("https://shop.BÜCHER.example/x") == \
        "domain:xn--bcher-kva.example"


def test_shipped_example_lists_load(tmp_path):
    from curator.specs import REPO_ROOT

    folder = REPO_ROOT / "filters" / "url_blocklist"
    config = UrlFilterConfig(domain_files=[str(folder / "domains.txt")],
                             substring_files=[str(folder / "substrings.txt")],
                             regex_files=[str(folder / "regexes.txt")])
    assert config.rules.match("http://0615235.com/02mjqjo%7Bibotij2.btq") == "domain:0615235.com"
    assert config.rules.match("https://blog.example.org/Tag/news/page/3").startswith("regex:")
    assert config.rules.match("https://an.wikipedia.org/wiki/Escopete") is None


def test_benchmark_page_urls(shared_data):
    truth = json.loads((shared_data / "article-extraction-benchmark" / "ground-truth.json").read_text())
    urls = [item["url"] for item in truth.values()]
    hosts = {url_host(u) for u in urls}
    assert None not in hosts and len(urls) == 181
    host = sorted(hosts)[0]
    parent = ".".join(host.split(".")[-2:])
    kept, rejected = run(UrlFilterConfig(domains=[parent]), urls)
    assert rejected and set(rejected.values()) == {f"domain:{parent}"}
    assert all(url_host(u) == parent or url_host(u).endswith("." + parent) for u in rejected)
    assert not any(url_host(u) == parent or url_host(u).endswith("." + parent) for u in kept)
