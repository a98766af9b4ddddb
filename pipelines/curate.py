"""spark-submit entry point: runs the same code as `curator run` / `curator stage`.

    spark-submit pipelines/curate.py pipelines/demo.yaml                 # every stage
    spark-submit pipelines/curate.py pipelines/demo.yaml --stage langid  # one stage (what Airflow calls)

Spark's start-up INFO logging comes from the driver JVM, which starts before this file runs; quiet it with
    --driver-java-options "-Dlog4j.configurationFile=file:$PWD/curator/spark/log4j2.properties"
"""

import sys

from curator.cli import main


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--stage" in args:
        i = args.index("--stage")
        stage_name = args[i + 1]
        rest = args[:i] + args[i + 2:]
        main(["stage", rest[0], stage_name, *rest[1:]])
    else:
        main(["run", *args])
