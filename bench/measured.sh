# bench/measured.sh: sourced by each benchmark, from the repository's root, for its result's heading: what was
# measured on and with. cpu: the processor's name; code: the commit measured, marked when lib/, the tools or the
# benchmarks differ from it (so that runs before and after a change can be told apart).
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
code=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- lib tools bench ':!bench/results' 2>/dev/null || code+=" with changes"
