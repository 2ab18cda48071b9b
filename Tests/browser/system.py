"""Starts the whole system for the gateway's tests: engine, recorder, CTI adapter (log driver), gateway.

Every process binds 127.0.0.1 with ports the system picks (never the contract's 5570-5573) and runs in a
temporary data folder; each one's stderr goes to a file kept with the run's artifacts.
"""
import json, os, re, subprocess, tempfile, time, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("SWITCHBOARD_BIN", os.path.join(ROOT, ".build", "debug", "switchboard"))
AGENTS = {"first": ("t-first-line", []), "spec": ("t-retention", ["retention"]), "spec2": ("t-second", ["retention"])}


class System:
    def __init__(self, artifacts):
        self.artifacts = artifacts
        os.makedirs(artifacts, exist_ok=True)
        self.data = tempfile.mkdtemp(prefix="switchboard-gateway-")
        self.procs = []

    def _start(self, name, args, pattern, timeout=60):
        log = open(os.path.join(self.artifacts, name + ".log"), "wb")
        p = subprocess.Popen([BIN] + args, cwd=ROOT, stderr=log, stdout=subprocess.DEVNULL)
        self.procs.append((name, p))
        if pattern is None:
            return p, None
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = open(log.name, encoding="utf-8", errors="replace").read()
            m = re.search(pattern, text)
            if m:
                return p, m
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode}:\n{text}")
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not start in {timeout} s:\n" + open(log.name).read())

    def start(self):
        d = self.data
        with open(os.path.join(d, "agents.jsonl"), "w") as f:
            for agent, (token, targets) in AGENTS.items():
                args = [BIN, "gateway-agent", agent, "--iterations", "1000", "--name", agent.capitalize()] + sum([["--target", t] for t in targets], [])
                f.write(subprocess.run(args, input=token.encode(), capture_output=True, check=True).stdout.decode())
        star = "tcp://127.0.0.1:*"
        self.metrics = {}
        _, m = self._start("engine", ["serve", "--data", d, "--query", star, "--events", star, "--replay", star, "--control", star,
                                      "--metrics", "127.0.0.1:0"], r"[^\n]* serving[^\n]*")
        line = m.group(0)
        self.ep = {n: re.search(n + r"=(tcp://[0-9.:]+)", line).group(1) for n in ["query", "events", "replay", "control"]}
        self.metrics["engine"] = self._metrics_port("engine")
        sub = ["--events", self.ep["events"], "--replay", self.ep["replay"], "--metrics", "127.0.0.1:0"]
        self._start("recorder", ["recorder", "--db", os.path.join(d, "comments.sqlite")] + sub, r"recording")
        self.metrics["recorder"] = self._metrics_port("recorder")
        # The CTI adapter publishes its transfer results; the gateway pops a panel only on the adapter's ok.
        _, m = self._start("cti", ["cti", "--driver", "log", "--control", self.ep["control"], "--operator-key", os.path.join(d, "operator.key"),
                                   "--record", os.path.join(d, "cti-record.log"), "--commands", os.path.join(d, "cti-commands.jsonl"),
                                   "--results", star, "--results-replay", star] + sub,
                           r"[^\n]*publishing transfer results[^\n]*")
        results = {n: re.search(r"(?:^| )" + n + r"=(tcp://[0-9.:]+)", m.group(0)).group(1) for n in ["results", "results_replay"]}
        self.metrics["cti"] = self._metrics_port("cti")
        _, m = self._start("gateway", ["gateway", "--listen", "127.0.0.1:0", "--query", self.ep["query"], "--tables", "routing-tables",
                                       "--agents", os.path.join(d, "agents.jsonl"), "--comments-db", os.path.join(d, "comments.sqlite"),
                                       "--cti-results", results["results"], "--cti-results-replay", results["results_replay"]] + sub,
                           r"panel at (http://[0-9.]+:\d+/)")
        self.url = m.group(1).rstrip("/")
        self.metrics["gateway"] = self._metrics_port("gateway")
        return self

    def _metrics_port(self, name, timeout=30):
        path = os.path.join(self.artifacts, name + ".log")
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(r"metrics on (http://[0-9.]+:\d+)/metrics", open(path, encoding="utf-8", errors="replace").read())
            if m:
                return m.group(1)
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not log its metrics address")

    def stop(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for name, p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()

    # --- HTTP helpers ---
    def request(self, method, path, body=None, token=None, headers=None, raw=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null"), dict(r.headers)
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text), dict(e.headers)
            except ValueError:
                return e.code, {"raw": text.decode(errors="replace")}, dict(e.headers)

    def signin(self, agent):
        status, body, _ = self.request("POST", "/v1/signin", {"agent": agent, "token": AGENTS[agent][0]})
        assert status == 200, body
        return body["session"]
