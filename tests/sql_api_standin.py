"""A local stand-in for the Workers Analytics Engine SQL API, for tests.

It really runs the SQL: chdb (an embedded ClickHouse, whose dialect the
Analytics Engine SQL API speaks) over one table per dataset with the
Analytics Engine columns (dataset, timestamp, _sample_interval, index1,
blob1..blob20, double1..double20), loaded from a JSON file of points in the
shape the end-to-end harness captures them ({"dataset", "indexes", "blobs",
"doubles"} plus "timestamp" in unix seconds and "sampleInterval"). The file
is read again whenever it changes, so a test can write points after start.

POST /client/v4/accounts/<account>/analytics_engine/sql with the SQL as the
body and "Authorization: Bearer <token>" answers like the real API: the
query's FORMAT (JSON when none: meta, data, rows, ...), or 400 with the
engine's message as text for a bad query, 401 for a wrong token. For the
tests it also keeps every query it was sent (GET /received answers them as
a JSON array, in order) and holds a query containing 'standin:hang' for 60 s
before answering (a SQL API that hangs).

    python3 tests/sql_api_standin.py --port 0 --token T --points FILE
prints "listening <port>" once ready; listens on 127.0.0.1 only.
"""

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chdb import session

DATASETS = ["distributed_traces", "worker_logs", "worker_metrics"]
COLUMNS = (
    ["dataset String", "timestamp DateTime('UTC')", "_sample_interval UInt32", "index1 String"]
    + [f"blob{i} String" for i in range(1, 21)]
    + [f"double{i} Float64" for i in range(1, 21)]
)
CONTENT_TYPES = {"JSON": "application/json", "JSONEachRow": "application/x-ndjson", "TabSeparated": "text/tab-separated-values"}
PATH = re.compile(r"^/client/v4/accounts/[^/]+/analytics_engine/sql$")


class Engine:
    def __init__(self, points_file):
        self.points_file = points_file
        self.loaded_mtime = None
        self.lock = threading.Lock()
        self.sess = session.Session()

    def reload_if_changed(self):
        mtime = os.path.getmtime(self.points_file) if os.path.exists(self.points_file) else None
        if mtime == self.loaded_mtime:
            return
        points = json.load(open(self.points_file)) if mtime else []
        for dataset in DATASETS:
            self.sess.query(f"DROP TABLE IF EXISTS {dataset}")
            self.sess.query(f"CREATE TABLE {dataset} ({', '.join(COLUMNS)}) ENGINE = Memory")
            rows = [row(p) for p in points if p["dataset"] == dataset]
            if rows:
                lines = "\n".join(json.dumps(r) for r in rows)
                self.sess.query(f"INSERT INTO {dataset} FORMAT JSONEachRow\n{lines}")
        self.loaded_mtime = mtime

    def run(self, sql):
        with self.lock:
            self.reload_if_changed()
            match = re.search(r"\bFORMAT\s+(\w+)\s*;?\s*$", sql, re.IGNORECASE)
            fmt = match.group(1) if match else "JSON"
            result = self.sess.query(sql, "JSON")
            return CONTENT_TYPES.get(fmt, "text/plain"), result.bytes()


def row(point):
    blobs = point.get("blobs", []) + [""] * 20
    doubles = point.get("doubles", []) + [0.0] * 20
    r = {
        "dataset": point["dataset"],
        "timestamp": int(point["timestamp"]),
        "_sample_interval": int(point.get("sampleInterval", 1)),
        "index1": (point.get("indexes") or [""])[0],
    }
    r.update({f"blob{i + 1}": blobs[i] for i in range(20)})
    r.update({f"double{i + 1}": float(doubles[i]) for i in range(20)})
    return r


def handler(engine, token):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, content_type, body):
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/received":
                return self.answer(404, "text/plain", b"not found")
            self.answer(200, "application/json", json.dumps(received).encode())

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            sql = self.rfile.read(length).decode("utf-8")
            if not PATH.match(self.path):
                return self.answer(404, "text/plain", b"not found")
            received.append(sql)
            if "'standin:hang'" in sql:
                time.sleep(60)
            if self.headers.get("authorization") != f"Bearer {token}":
                body = json.dumps({"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]})
                return self.answer(401, "application/json", body.encode())
            try:
                content_type, body = engine.run(sql)
            except Exception as e:  # the engine's message, as the real API reports a bad query
                message = str(e).strip().splitlines()[0] if str(e).strip() else "query failed"
                return self.answer(400, "text/plain", message.encode())
            self.answer(200, content_type, body)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", required=True)
    parser.add_argument("--points", required=True)
    args = parser.parse_args()
    engine = Engine(args.points)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(engine, args.token))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
