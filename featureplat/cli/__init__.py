"""The ``featureplat`` command."""
from __future__ import annotations

import json

import click

import featureplat as fp
from featureplat.cli.demo import run
from featureplat.examples.churn import generate
from featureplat.feast.http import serve
from featureplat.feast.repo import apply
from featureplat.feast.serving import OnlineFeatures
from featureplat.feast.training import training_set
from featureplat.mlflow import (
    configure, format_lineage, lineage, load_model_plan, models_using_view, reproduce, retrain, retrainings,
)
from featureplat.plan.files import write_parquet


@click.group()
@click.version_option(fp.__version__, prog_name="featureplat")
def main() -> None:
    """featureplat: one compiled feature plan for training and serving."""


@main.command()
@click.option("--repo", default="feature_repo", show_default=True, type=click.Path(file_okay=False),
              help="The feature repo (its data/ is regenerated).")
@click.option("--customers", default=2_000, show_default=True, help="Customers in the generated data.")
@click.option("--threads", default=2, show_default=True, help="Threads for the join and the plan.")
@click.option("--out", "out_dir", default="out", show_default=True, help="Where the fitted plan is written.")
def demo(repo: str, customers: int, threads: int, out_dir: str) -> None:
    """The main job: generate data, apply the repo, build the training set, fit, transform, check."""
    _run(lambda: run(repo, customers=customers, threads=threads, out_dir=out_dir))


def _run(fn):
    try:
        return fn()
    except fp.FeatureplatError as err:  # LineageError is a FeatureplatError
        raise click.ClickException(str(err)) from None
    except OSError as err:  # a missing file, a folder one cannot write, a port in use
        raise click.ClickException(f"{err.strerror or err}: {err.filename}" if err.filename else str(err)) from None


@main.command("generate-data")
@click.option("--repo", default="feature_repo", show_default=True, type=click.Path(file_okay=False))
@click.option("--seed", default=7, show_default=True)
@click.option("--customers", default=2_000, show_default=True)
@click.option("--days", default=90, show_default=True)
def generate_data(repo: str, seed: int, customers: int, days: int) -> None:
    """Write the churn repo's parquet tables (deterministic for a seed) to <repo>/data."""
    for name, path in generate(f"{repo}/data", seed=seed, customers=customers, days=days).items():
        click.echo(f"{name}: {path}")


@main.command("apply")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False))
@click.option("--skip-source-validation", is_flag=True, help="Passed to Feast's apply.")
def apply_cmd(repo: str, skip_source_validation: bool) -> None:
    """Check the feature sets against the Feast definitions, run Feast's apply, record the plans."""
    applied = _run(lambda: apply(repo, skip_source_validation=skip_source_validation))
    for name, entry in applied.index["feature_sets"].items():
        click.echo(f"feature set {name}: plan {entry['plan_hash']} ({len(entry['feature_refs'])} Feast features)")


@main.command("training-set")
@click.argument("feature_set")
@click.argument("entity_file", type=click.Path(dir_okay=False, exists=True))
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False))
@click.option("--label", multiple=True, help="Label column(s) of the entity file.")
@click.option("--method", type=click.Choice(["native", "feast"]), default="native", show_default=True)
@click.option("--threads", default=1, show_default=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Parquet file for features + labels (replaced atomically: a killed build leaves the "
                   "earlier file).")
@click.option("--plan-out", default=None, type=click.Path(dir_okay=False), help="Where to save the fitted plan.")
def training_set_cmd(feature_set, entity_file, repo, label, method, threads, out_path, plan_out) -> None:
    """Build FEATURE_SET's point-in-time training set for the entity rows in ENTITY_FILE."""
    ts = _run(lambda: training_set(repo, feature_set, entity_file, label=list(label) or None, method=method,
                                   threads=threads))
    table = _run(ts.to_arrow)
    _run(lambda: write_parquet(out_path, table))
    click.echo(f"{ts.num_rows} rows x {ts.features.num_columns} features -> {out_path}")
    if plan_out:
        click.echo(f"fitted plan {ts.plan.plan_hash} -> {_run(lambda: ts.plan.save(plan_out))}")


@main.command("serve")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False))
@click.option("--plan", "plan_path", default=None, type=click.Path(dir_okay=False, exists=True),
              help="A fitted plan file to serve.")
@click.option("--model", "model_uri", default=None, help="Serve a registered model's plan: models:/name@alias.")
@click.option("--expect-plan", default=None, help="With --model: refuse unless the model's plan has this hash.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or the "
                                                    "repo's data/mlflow.db).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=6570, show_default=True)
@click.option("--timeout", default=2.0, show_default=True, help="Seconds to wait for a remote online store.")
def serve_cmd(repo, plan_path, model_uri, expect_plan, tracking_uri, host, port, timeout) -> None:
    """Serve a fitted plan over HTTP: GET /health, POST /features (JSON)."""
    if (plan_path is None) == (model_uri is None):
        raise click.UsageError("give exactly one of --plan and --model")
    if model_uri:
        _tracking(repo, tracking_uri)
        plan = _run(lambda: load_model_plan(model_uri, expected_plan_hash=expect_plan)).plan
        serving = _run(lambda: OnlineFeatures(repo, plan, timeout=timeout))
    else:
        serving = _run(lambda: OnlineFeatures(repo, plan_path, timeout=timeout))
    click.echo(f"serving plan {serving.plan.name} ({serving.plan.plan_hash[:16]}) on http://{host}:{port}")
    serve(serving, host=host, port=port)


def _tracking(repo: str, uri: str | None, experiment: str | None = None, create: bool = False) -> str:
    return _run(lambda: configure(repo, uri, experiment, create=create))


@main.command("lineage")
@click.argument("model_uri", required=False)
@click.option("--feature-view", default=None, help="Instead: list the model versions that read this view.")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False))
@click.option("--tracking-uri", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def lineage_cmd(model_uri, feature_view, repo, tracking_uri, as_json) -> None:
    """Print data -> feature views -> plan -> run -> model version for MODEL_URI."""
    _tracking(repo, tracking_uri)
    if feature_view:
        rows = _run(lambda: models_using_view(feature_view))
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        for r in rows if not as_json else ():
            click.echo(f"{r['name']} version {r['version']} {r['aliases']} plan {str(r['plan_hash'])[:16]} "
                       f"run {r['run_id']}")
        return
    if not model_uri:
        raise click.UsageError("give a model URI (models:/name/3) or --feature-view")
    doc = _run(lambda: lineage(model_uri))
    click.echo(json.dumps(doc, indent=2) if as_json else format_lineage(doc))


@main.command("reproduce")
@click.argument("run_id")
@click.option("--repo", default=None, type=click.Path(file_okay=False), help="Default: the repo the run logged.")
@click.option("--tracking-uri", default=None)
def reproduce_cmd(run_id, repo, tracking_uri) -> None:
    """Rebuild RUN_ID's training matrix from Feast and check it against the logged digest."""
    _tracking(repo or ".", tracking_uri)
    r = _run(lambda: reproduce(run_id, store=repo))
    if r.matches:
        click.echo(f"reproduced: {r.rows_rebuilt} rows, digest {r.rebuilt} matches the run")
        return
    click.echo(f"DIFFERENT: logged {r.logged} ({r.rows_logged} rows), rebuilt {r.rebuilt} ({r.rows_rebuilt} rows)")
    click.echo(f"columns that differ: {', '.join(r.differing_columns) or 'none (row count or order)'}")
    raise SystemExit(1)


@main.command("retrain")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False))
@click.option("--model", "model_name", default=None, help="Which declared retraining (default: the only one).")
@click.option("--tracking-uri", default=None)
@click.option("--threads", default=1, show_default=True)
def retrain_cmd(repo, model_name, tracking_uri, threads) -> None:
    """Run the repo's declared retraining as an MLflow run; promote only a no-worse model."""
    specs = _run(lambda: retrainings(repo))
    if not specs:
        raise click.ClickException(f"{repo} declares no featureplat.mlflow.Retraining")
    if model_name is None and len(specs) > 1:
        raise click.ClickException(f"several retrainings ({', '.join(sorted(specs))}); pick one with --model")
    spec = specs[model_name] if model_name else next(iter(specs.values()))
    _tracking(repo, tracking_uri, experiment=spec.model_name, create=True)
    out = _run(lambda: retrain(repo, spec, threads=threads))
    click.echo(f"run {out.run_id}: registered {spec.model_name} version {out.version}; "
               f"{'PROMOTED to @' + spec.alias if out.promoted else 'kept the current @' + spec.alias}: {out.reason}")


@main.command("ops")
@click.option("--family", default=None, help="Only ops of this family.")
def list_ops(family: str | None) -> None:
    """List every op with its documented semantics."""
    for op in fp.ops():
        if family and op["family"] != family:
            continue
        click.echo(f"{op['signature']}  [{op['family']}]")
        click.echo(f"    {op['doc']}")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
def inspect(path: str) -> None:
    """Show a plan file: hash, inputs, features, steps."""
    try:
        plan = fp.load_plan(path)
    except fp.PlanError as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps({
        "name": plan.name, "plan_hash": plan.plan_hash, "format_version": plan.format_version,
        "inputs": plan.inputs, "features": plan.feature_types, "steps": len(plan.steps),
    }, indent=2))


if __name__ == "__main__":
    main()
