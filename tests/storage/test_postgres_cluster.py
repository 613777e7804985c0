"""The throwaway PostgreSQL cluster the engine tests run on: it starts, answers on 127.0.0.1, gives fresh databases."""

from __future__ import annotations

import subprocess

from tests.support.postgres import Cluster


def _psql(cluster: Cluster, dbname: str, sql: str) -> str:
    out = subprocess.run(
        [
            str(cluster.bindir / "psql"),
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            cluster.user,
            "-d",
            dbname,
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def test_the_cluster_answers_on_loopback_and_gives_separate_databases(postgres_cluster):
    url_a = postgres_cluster.create_database("contract_a")
    postgres_cluster.create_database("contract_b")
    assert url_a.startswith("postgresql://") and url_a.endswith("/contract_a")
    assert _psql(postgres_cluster, "contract_a", "SHOW server_version_num").isdigit()
    assert _psql(postgres_cluster, "contract_a", "SHOW server_encoding") == "UTF8"
    _psql(postgres_cluster, "contract_a", "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
    assert (
        _psql(
            postgres_cluster, "contract_b", "SELECT count(*) FROM pg_tables WHERE tablename = 't'"
        )
        == "0"
    )
