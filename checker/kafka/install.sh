#!/usr/bin/env bash
# Lays out an Apache Kafka installation from Maven Central, for `--broker local`:
#
#   bash checker/kafka/install.sh DIR      # then: cargo checker --broker local --kafka-home DIR
#
# It needs Java 17 or newer and Maven. DIR gets libs/ (every runtime jar of pom.xml) and
# nothing else: the checker writes the broker's settings itself for each run. Run again,
# it does nothing unless pom.xml changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: bash checker/kafka/install.sh DIR}
command -v mvn >/dev/null || { echo "install.sh: Maven (mvn) is not installed" >&2; exit 1; }

want=$(sha256sum "$here/pom.xml" | cut -d' ' -f1)
if [ "$(cat "$dest/.pom.sha256" 2>/dev/null)" = "$want" ] && compgen -G "$dest/libs/kafka_2.13-*.jar" >/dev/null; then
  echo "Kafka installation at $dest is up to date"
  exit 0
fi
rm -rf "$dest/libs" "$dest/.pom.sha256"
mkdir -p "$dest"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! mvn --batch-mode -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$dest/libs" >"$log" 2>&1; then
  cat "$log" >&2
  echo "install.sh: Maven could not lay out Kafka's jars (above)" >&2
  exit 1
fi

# Kafka's POMs bring log4j-api and log4j-core; the binding must match them, or the broker
# logs nothing (slf4j's NOP fallback).
api=$(compgen -G "$dest/libs/log4j-api-*.jar" | sed 's/.*log4j-api-\(.*\)\.jar/\1/')
for jar in log4j-core log4j-slf4j-impl; do
  [ -f "$dest/libs/$jar-$api.jar" ] || { echo "install.sh: $jar-$api.jar is missing from $dest/libs" >&2; exit 1; }
done
[ "$(compgen -G "$dest/libs/log4j-core-*.jar" | wc -l)" = 1 ] || { echo "install.sh: two log4j-core versions in $dest/libs" >&2; exit 1; }
echo "$want" > "$dest/.pom.sha256"
version=$(compgen -G "$dest/libs/kafka_2.13-*.jar" | sed 's/.*kafka_2.13-\(.*\)\.jar/\1/')
echo "Apache Kafka $version installed at $dest ($(ls "$dest/libs" | wc -l) jars, log4j $api)"
