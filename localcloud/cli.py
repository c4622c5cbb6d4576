"""``localcloud start|stop|status``: a thin layer over ``localcloud.daemon``."""

from __future__ import annotations

import argparse
import json
import sys

from localcloud import daemon
from localcloud.settings import add_start_options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localcloud", description="The offline multi-region AWS on loopback.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("start", "start in the background; returns when ready"),
                       ("stop", "stop it and every process it started"),
                       ("status", "print its status as JSON (exit 3 when not running)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--state-dir", default=str(daemon.DEFAULT_STATE_DIR), help="default: .localcloud/ in the project")
        if name == "start":
            add_start_options(p)
    args = parser.parse_args(argv)

    try:
        if args.command == "start":
            info = daemon.start(args.state_dir, time_scale=args.time_scale, replication_delay=args.replication_delay,
                                port=args.port, dns_port=args.dns_port, api_port=args.api_port)
            print(f"local cloud ready: {info['aws_endpoint']} (dns {info['dns']}, api port {info['api_port']}, "
                  f"time scale {info['time_scale']})")
            print(f"use it from a shell: . {info['env_file']}")
            return 0
        if args.command == "stop":
            stopped = daemon.stop(args.state_dir)
            print("local cloud stopped" if stopped else "no local cloud was running")
            return 0
        info = daemon.status(args.state_dir)
        print(json.dumps(info, indent=2))
        return 0 if info["running"] else 3
    except daemon.LocalCloudError as error:
        print(f"localcloud: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
