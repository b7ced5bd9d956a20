"""How each system runs a job of the pipeline benchmark: the command line of one process that
reads the input topic and writes the output topic, and the consumer group whose committed
offsets say how far it got (bench/pipeline/README.md)."""
import textwrap
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMIT_INTERVAL_MS = 100


@dataclass
class launch:
    argv: list
    group: str
    cwd: Path = None


def sluice_yaml(job, app, input_topic, output_topic, table_topic):
    """The job as a Sluice pipeline file: the same steps the other systems run."""
    head = textwrap.dedent(f"""\
        name: {app}
        delivery: {job.guarantee}
        commit_interval: {COMMIT_INTERVAL_MS}ms
        sources:
          - topic: {input_topic}
            key_format: string
            value_format: json
        """)
    aggregate = ("  aggregate:\n"
                 "    - { name: count, function: count }\n"
                 "    - { name: sum, function: sum, expression: value.amount }\n")
    tumbling = "window:\n  type: tumbling\n  size: 1m\n  grace: 1h\n  emit: every_update\n" + aggregate
    body = {
        "stateless": "steps:\n  - filter: value.amount >= 10\n  - map: { seq: value.seq, cents: value.amount * 100 }\n",
        "window": tumbling,
        "repartition": "steps:\n  - select_key: value.group\n" + tumbling,
        "session": "window:\n  type: session\n  gap: 30s\n  grace: 1h\n  emit: every_update\n" + aggregate,
        "table": "table:\n" + aggregate,
        "join": (f"tables:\n  - name: customers\n    topic: {table_topic}\n    key_format: string\n"
                 "    value_format: json\nsteps:\n  - join: { table: customers, type: left, into: customer }\n"),
    }[job.name]
    sink = f"sink:\n  topic: {output_topic}\n  key_format: string\n  value_format: json\n"
    return head + body + sink


def sluice(sluice_bin, job, app, bootstrap, input_topic, output_topic, table_topic, scratch):
    pipeline = scratch / f"{app}.yaml"
    pipeline.write_text(sluice_yaml(job, app, input_topic, output_topic, table_topic))
    argv = [str(sluice_bin), "run", str(pipeline), "--bootstrap-server", bootstrap,
            "--state-dir", str(scratch / f"{app}-state")]
    return launch(argv, group=app)


def kafka_streams(java_classes, kafka_libs, log_config, job, app, bootstrap, input_topic, output_topic,
                  table_topic, scratch):
    argv = ["java", "-Xmx1g", f"-Dlog4j2.configurationFile={log_config}",
            "-cp", f"{kafka_libs}/*:{java_classes}", "KafkaStreamsPipeline",
            "--bootstrap", bootstrap, "--application-id", app, "--state-dir", str(scratch / f"{app}-state"),
            "--scenario", job.name, "--guarantee", job.guarantee, "--input", input_topic,
            "--output", output_topic, "--table", table_topic or "",
            "--commit-interval-ms", str(COMMIT_INTERVAL_MS)]
    return launch(argv, group=app)


def quix(quix_python, job, app, bootstrap, input_topic, output_topic, table_topic, scratch):
    argv = [str(quix_python), str(HERE / "quix_pipeline.py"), "--bootstrap", bootstrap, "--group", app,
            "--state-dir", str(scratch / f"{app}-state"), "--scenario", job.name,
            "--guarantee", job.guarantee, "--input", input_topic, "--output", output_topic,
            "--table", table_topic or "", "--commit-interval-ms", str(COMMIT_INTERVAL_MS)]
    return launch(argv, group=app, cwd=scratch)
