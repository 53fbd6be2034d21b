"""Reading a rosterd's Prometheus metrics (its /metrics page, text exposition format)."""

import re
import urllib.request


def scrape_bytes(endpoint, timeout=5):
    """The bytes of http://endpoint/metrics, as served (a test of what is served reads these)."""
    with urllib.request.urlopen(f"http://{endpoint}/metrics", timeout=timeout) as r:
        return r.read()


def scrape(endpoint, timeout=5):
    """The text of http://endpoint/metrics (endpoint: "host:port", a node's --metrics-listen);
    bytes that are not UTF-8 (which Prometheus would refuse) are replaced, not raised on."""
    return scrape_bytes(endpoint, timeout).decode(errors="replace")


def samples(text, name):
    """{labels: value} of every sample of metric `name`; labels is the text in braces, with them
    ("" for a sample without labels)."""
    pattern = re.compile(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+(\S+)", re.M)
    return {m.group(1) or "": float(m.group(2)) for m in pattern.finditer(text)}


def total(text, name, label_filter=None):
    """The sum of the samples of `name` (those whose labels contain label_filter, if given);
    None if there is none."""
    values = [v for labels, v in samples(text, name).items() if not label_filter or label_filter in labels]
    return sum(values) if values else None
