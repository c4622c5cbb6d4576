"""AWS FIS experiments go through their states: initiating, running, then completed.

Follows: AWS FIS User Guide, "Experiment states" (pending, initiating, running, completed, stopping, stopped)
and "Start an experiment" (aws fis start-experiment).
"""

from __future__ import annotations

import json
import time
import uuid

from awsfacts.fis import REGION_OUTAGE


def test_an_experiment_is_initiating_then_running_then_completed(aws, client, unique):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                 "Principal": {"Service": "fis.amazonaws.com"}}]})
    role = client("iam").create_role(RoleName=f"fis-{unique}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    fis = client("fis")
    template = fis.create_experiment_template(
        clientToken=str(uuid.uuid4()), description="brief outage", roleArn=role, stopConditions=[{"source": "none"}],
        targets={}, actions={"outage": {"actionId": REGION_OUTAGE,  # the local cloud's own action
                                        # 3 s at time scale 0.1: longer than two CLI calls on a busy machine
                                        "parameters": {"region": "eu-north-1", "duration": "PT30S"}}})
    started = aws("fis", "start-experiment", "--experiment-template-id", template["experimentTemplate"]["id"],
                  "--client-token", str(uuid.uuid4()))
    assert started.returncode == 0, started.stderr
    experiment = started.json()["experiment"]
    assert experiment["state"]["status"] == "initiating"
    assert fis.get_experiment(id=experiment["id"])["experiment"]["state"]["status"] == "running"
    for _ in range(300):
        status = fis.get_experiment(id=experiment["id"])["experiment"]["state"]["status"]
        if status == "completed":
            break
        time.sleep(0.1)
    assert status == "completed"
