"""gunicorn settings for the floor app: the same garbage-collector tuning `osteo-cds serve` applies per worker,
so the floor differs from the service only in what the app does."""

from cds_service.cli import tune_garbage_collector


def post_worker_init(worker: object) -> None:
    tune_garbage_collector()
