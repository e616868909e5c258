#!/usr/bin/env bash
# Submit a custseg job with the spark-submit of the installed pyspark.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./spark-submit.sh JOB [options] [job options]

Runs jobs/JOB.py through spark-submit. JOB is one of:
  generate ingest clean resolve features segment audit report run_all (and assign, stream outside run_all)

Options:
  --env ENV               configuration overlay conf/env/ENV.yaml (default: local)
  --master URL            Spark master: local[N], spark://HOST:PORT, yarn, k8s://... (default:
                          spark.master from the configuration)
  --deploy-mode MODE      client (default) or cluster; Python jobs on a standalone master
                          run in client mode only
  --conf-dir DIR          folder holding base.yaml, env/ and sources.yaml (default: ./conf)
  --set KEY=VALUE         override one setting, e.g. --set segment.k_max=8 (repeatable)
  --spark-conf KEY=VALUE  extra Spark property passed to spark-submit --conf (repeatable)
  --delta-packages        add delta-spark's jars from Maven (the coordinate matching the
                          installed pyspark) and its SQL extension; needs Maven access
  --kafka-packages        add Spark's Kafka connector from Maven (the artifact matching the
                          installed pyspark), for `stream` with stream.source=kafka
  --python PATH           Python with custseg installed (default: .venv/bin/python, then python3)
  -h, --help              this help

Any other option goes to the job, e.g. --customers 5000 for generate and run_all.
The package lib/custseg is zipped to dist/custseg.zip for --py-files (executors cannot import
a wheel given there) and rebuilt whenever a source file is newer than the zip.
The configuration is validated before spark-submit starts; a bad key stops here.

Examples:
  ./spark-submit.sh run_all --env local --customers 5000
  ./spark-submit.sh segment --env standalone --master spark://127.0.0.1:7077
  ./spark-submit.sh run_all --env cluster --master yarn --delta-packages
  ./spark-submit.sh stream --env cluster --master yarn --kafka-packages --set stream.source=kafka
USAGE
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -ge 1 ] || { usage; exit 2; }
case "$1" in -h|--help) usage; exit 0;; esac
# spark-submit's own order (options, the application file, its arguments), as schedulers call
# it (Airflow's SparkSubmitOperator with this script as its binary), becomes JOB first.
if [[ "$1" == --* ]]; then
  lead=()
  while [ $# -gt 0 ] && [[ "$1" == --* ]]; do
    case "$1" in
      --conf) lead+=(--spark-conf "$2"); shift 2;;
      --master|--deploy-mode) lead+=("$1" "$2"); shift 2;;
      --verbose|--supervise) shift;;
      *) shift 2;;  # --name, --queue, resources: the configuration sets those
    esac
  done
  [ $# -ge 1 ] || { usage; exit 2; }
  application="$(basename "$1" .py)"; shift
  set -- "$application" ${lead[@]+"${lead[@]}"} "$@"
fi
job="$1"; shift
[ -f "$here/jobs/$job.py" ] || { echo "spark-submit.sh: unknown job '$job' (see --help)" >&2; exit 2; }

env_name=local; master=""; deploy_mode=client; conf_dir="$here/conf"; delta=0; kafka=0
python="${CUSTSEG_PYTHON:-}"
overrides=(); spark_confs=(); job_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --env) env_name="$2"; shift 2;;
    --master) master="$2"; shift 2;;
    --deploy-mode) deploy_mode="$2"; shift 2;;
    --conf-dir) conf_dir="$(cd "$2" && pwd)"; shift 2;;
    --set) overrides+=(--set "$2"); shift 2;;
    --spark-conf) spark_confs+=(--conf "$2"); shift 2;;
    --delta-packages) delta=1; shift;;
    --kafka-packages) kafka=1; shift;;
    --python) python="$2"; shift 2;;
    -h|--help) usage; exit 0;;
    *) job_args+=("$1"); shift;;
  esac
done

if [ -z "$python" ]; then
  if [ -x "$here/.venv/bin/python" ]; then python="$here/.venv/bin/python"; else python="$(command -v python3)"; fi
fi
"$python" -c 'import custseg, pyspark' 2>/dev/null || {
  echo "spark-submit.sh: $python cannot import custseg and pyspark; run 'make venv' or pass --python" >&2; exit 3; }

export SPARK_HOME="$("$python" -c 'from pyspark.find_spark_home import _find_spark_home; print(_find_spark_home())')"
export PYSPARK_PYTHON="$python" PYSPARK_DRIVER_PYTHON="$python"
export SPARK_CONF_DIR="${SPARK_CONF_DIR:-$("$python" -c 'import custseg.session as s; print(s.SPARK_CONF_DIR)')}"
submit="$SPARK_HOME/bin/spark-submit"
[ -x "$submit" ] || { echo "spark-submit.sh: no spark-submit at $submit" >&2; exit 3; }

# Validated configuration -> spark-submit arguments (driver memory, Spark properties).
config_args=(--env "$env_name" --conf-dir "$conf_dir" "${overrides[@]}")
spark_args_text="$("$python" -m custseg spark-args "${config_args[@]}" ${master:+--master "$master"})"
eval "derived=($spark_args_text)"
master="${derived[1]}"  # spark-args prints "--master URL" first

if [[ "$master" == spark://* && "$deploy_mode" == cluster ]]; then
  echo "spark-submit.sh: Python applications on a standalone master run in client mode only" >&2; exit 2
fi
if [[ "$master" == spark://127.0.0.1:* || "$master" == spark://localhost:* ]]; then
  spark_confs+=(--conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1)
fi

# Package zip for executors, rebuilt when any source file is newer.
zip_path="$here/dist/custseg.zip"
if [ ! -f "$zip_path" ] || [ -n "$(find "$here/lib/custseg" -type f -newer "$zip_path" -print -quit)" ]; then
  mkdir -p "$here/dist"
  "$python" - "$here/lib" "$zip_path" <<'PY'
import pathlib, sys, zipfile
lib, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
tmp = target.with_suffix(".tmp")
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
    for path in sorted((lib / "custseg").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            archive.write(path, path.relative_to(lib))
tmp.replace(target)
PY
fi

packages=()
if [ "$delta" = 1 ]; then
  packages=(--packages "$("$python" -m custseg delta-coordinate)"
            --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension
            --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog)
fi

if [ "$kafka" = 1 ]; then
  kafka_coordinate="$("$python" -c 'from custseg.stream.sources import kafka_coordinate; print(kafka_coordinate())')"
  if [ "${#packages[@]}" -gt 0 ]; then
    packages[1]="${packages[1]},$kafka_coordinate"
  else
    packages=(--packages "$kafka_coordinate")
  fi
fi

exec "$submit" --deploy-mode "$deploy_mode" --py-files "$zip_path" \
  "${derived[@]}" "${packages[@]}" "${spark_confs[@]}" \
  "$here/jobs/$job.py" "${config_args[@]}" "${job_args[@]}"
