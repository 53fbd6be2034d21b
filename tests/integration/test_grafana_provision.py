"""scripts/grafana-provision against a temporary Grafana configuration directory (issue 15): the
files land where Grafana looks for them (provisioning/datasources/*.yml,
provisioning/dashboards/*.yml, and the dashboard JSON at the provider's path), the YAML parses,
the datasource has the URL given, the dashboard opens on that datasource; a second run changes
nothing; a file with other content is kept unless --force; bad arguments change nothing.

Grafana itself is not packaged for Debian 12, so it does not load them here (docs/monitoring.md).

Run by ctest (label `integration`); alone:
    /usr/bin/python3 -m unittest -v tests/integration/test_grafana_provision.py
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit.paths import ROOT  # noqa: E402

SCRIPT = os.path.join(ROOT, "scripts", "grafana-provision")
# A URL with what YAML could misread if it were written bare: a colon and space are refused by the
# script, but '#', '?', '@' and '%' are legal in a URL and must come back as they were.
URL = "http://reader@prom.internal:9090/prometheus/?a=1&b=%20#top"


def run(*args):
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=60)


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def load_json(path):
    with open(path) as f:
        return json.load(f)


class GrafanaProvision(unittest.TestCase):
    def setUp(self):
        self.grafana = tempfile.mkdtemp(prefix="roster-grafana-")
        self.addCleanup(shutil.rmtree, self.grafana, ignore_errors=True)
        self.prov = os.path.join(self.grafana, "provisioning")
        self.datasource = os.path.join(self.prov, "datasources", "roster.yml")
        self.provider = os.path.join(self.prov, "dashboards", "roster.yml")

    def files(self):
        out = {}
        for dirpath, _, names in os.walk(self.grafana):
            for n in names:
                path = os.path.join(dirpath, n)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, self.grafana)] = f.read()
        return out

    def test_the_files_land_where_grafana_reads_them(self):
        r = run("--grafana-dir", self.grafana, "--prometheus-url", URL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Restart Grafana", r.stdout)

        # Datasources: every *.yml of provisioning/datasources; one Prometheus at the URL given.
        ds = load_yaml(self.datasource)
        self.assertEqual(ds["apiVersion"], 1)
        self.assertEqual(len(ds["datasources"]), 1)
        source = ds["datasources"][0]
        self.assertEqual(source["type"], "prometheus")
        self.assertEqual(source["url"], URL)
        self.assertEqual(source["access"], "proxy")
        self.assertFalse(source["isDefault"], "it must not take the place of the user's default datasource")

        # Dashboards: every *.yml of provisioning/dashboards names a provider whose path holds the JSON.
        provider = load_yaml(self.provider)
        self.assertEqual(provider["apiVersion"], 1)
        self.assertEqual(len(provider["providers"]), 1)
        p = provider["providers"][0]
        self.assertEqual(p["type"], "file")
        self.assertTrue(os.path.isabs(p["options"]["path"]))
        dashboard = load_json(os.path.join(p["options"]["path"], "roster.json"))
        self.assertTrue(p["options"]["path"].startswith(self.prov + os.sep))

        # The dashboard is roster's, opening on the datasource just provisioned.
        original = load_json(os.path.join(ROOT, "dashboards", "roster.json"))
        self.assertEqual(dashboard["uid"], original["uid"])
        self.assertEqual(dashboard["panels"], original["panels"])
        variable = next(v for v in dashboard["templating"]["list"] if v["type"] == "datasource")
        self.assertEqual(variable["current"]["value"], source["uid"])
        self.assertEqual(variable["current"]["text"], source["name"])

        # Grafana's user (not root) reads them.
        for rel in self.files():
            mode = stat.S_IMODE(os.stat(os.path.join(self.grafana, rel)).st_mode)
            self.assertEqual(mode & 0o444, 0o444, f"{rel}: mode {mode:o}")
        self.assertEqual(sorted(self.files()), sorted([
            "provisioning/datasources/roster.yml", "provisioning/dashboards/roster.yml",
            "provisioning/dashboards/roster/roster.json"]))

    def test_a_second_run_changes_nothing_and_other_content_is_kept_unless_forced(self):
        self.assertEqual(run("--grafana-dir", self.grafana, "--prometheus-url", URL).returncode, 0)
        before = self.files()
        r = run("--grafana-dir", self.grafana, "--prometheus-url", URL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Nothing to do", r.stdout)
        self.assertEqual(self.files(), before)

        r = run("--grafana-dir", self.grafana, "--prometheus-url", "http://127.0.0.1:9091")
        self.assertEqual(r.returncode, 1)
        self.assertIn(self.datasource, r.stderr)
        self.assertIn("--force", r.stderr)
        self.assertEqual(self.files(), before, "nothing is written when one file may not be replaced")

        r = run("--grafana-dir", self.grafana, "--prometheus-url", "http://127.0.0.1:9091", "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(load_yaml(self.datasource)["datasources"][0]["url"], "http://127.0.0.1:9091")

    def test_a_provisioning_dir_elsewhere(self):
        elsewhere = os.path.join(self.grafana, "conf", "prov")
        r = run("--provisioning-dir", elsewhere, "--prometheus-url", "https://prom:9090")
        self.assertEqual(r.returncode, 0, r.stderr)
        provider = load_yaml(os.path.join(elsewhere, "dashboards", "roster.yml"))
        self.assertTrue(os.path.isfile(os.path.join(provider["providers"][0]["options"]["path"], "roster.json")))
        self.assertEqual(load_yaml(os.path.join(elsewhere, "datasources", "roster.yml"))["datasources"][0]["url"],
                         "https://prom:9090")

    def test_bad_arguments_say_what_is_wrong_and_write_nothing(self):
        cases = [
            (["--grafana-dir", self.grafana, "--prometheus-url", "127.0.0.1:9090"], "--prometheus-url"),
            (["--grafana-dir", self.grafana, "--prometheus-url", "ftp://prom:9090"], "--prometheus-url"),
            (["--grafana-dir", self.grafana, "--prometheus-url", "http://prom:99999"], "port"),
            (["--grafana-dir", self.grafana, "--prometheus-url", "http://prom:9090/\nurl: x"], "--prometheus-url"),
            (["--grafana-dir", os.path.join(self.grafana, "missing"), "--prometheus-url", URL], "no such directory"),
            (["--grafana-dir", self.grafana], "--prometheus-url"),
            (["--prometheus-url", URL], "--grafana-dir"),
        ]
        for args, says in cases:
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(says, r.stderr)
                self.assertEqual(self.files(), {})


if __name__ == "__main__":
    unittest.main()
