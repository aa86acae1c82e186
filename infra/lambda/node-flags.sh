#!/bin/bash
# AWS_LAMBDA_EXEC_WRAPPER of every function (infra/constructs/service-function.ts).
#
# Lambda starts the Node runtime as
#   <this script> /var/lang/bin/node --expose-gc ... --max-semi-space-size=<memory / 20> ... /var/runtime/index.mjs
# so V8's young generation may grow to a tenth of the function's memory (177 MB at
# 1,769 MB). It grows by doubling as the function allocates, for minutes: a step that
# streams pages would reach a higher peak the longer it runs, though it holds nothing
# per record. NODE_OPTIONS cannot lower it (the command line comes after it, and wins),
# so the flag goes on the command line after the runtime's own, before the runtime's
# script (the last argument).
set -euo pipefail
if [[ -z "${NODE_SEMI_SPACE_MB:-}" || $# -lt 2 ]]; then exec "$@"; fi
args=("$@")
last=$(( ${#args[@]} - 1 ))
exec "${args[@]:0:last}" "--max-semi-space-size=${NODE_SEMI_SPACE_MB}" "${args[last]}"
