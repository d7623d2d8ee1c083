# The CUDA emulator's launches (tests/emu/emu.cc): kernel<<<grid, block, shared, stream>>>(args) becomes
# emu_launch(emu::config(grid, block, shared, stream), "kernel", [](auto... a) { kernel(a...); }, args), the kernel's
# template arguments deduced from the call as nvcc deduces them. One launch a line; its arguments may go on.
s/([A-Za-z_][A-Za-z0-9_]*(<[^<>]*>)?)<<<(.*)>>>\(\)/emu_launch(emu::config(\3), "\1", [](auto... emu_args) { \1(emu_args...); })/
s/([A-Za-z_][A-Za-z0-9_]*(<[^<>]*>)?)<<<(.*)>>>\(/emu_launch(emu::config(\3), "\1", [](auto... emu_args) { \1(emu_args...); }, /
