"""Fargate's task sizes: which memory each CPU size takes. One table for the template's
pre-generation hook (which imports this module from the template's checkout) and for the deploy
tool's `--set Cpu=... Memory=...` checks."""

# cpu units -> the memory in MiB each takes (Linux), from the table in
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size
FARGATE_MEMORY = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4096 + 1, 1024)),
    1024: list(range(2048, 8192 + 1, 1024)),
    2048: list(range(4096, 16384 + 1, 1024)),
    4096: list(range(8192, 30720 + 1, 1024)),
    8192: list(range(16384, 61440 + 1, 4096)),
    16384: list(range(32768, 122880 + 1, 8192)),
}


def memory_words(cpu):
    """The memory sizes `cpu` takes, as a person reads them: a range and its step, or a list."""
    sizes = FARGATE_MEMORY[cpu]
    steps = {later - earlier for earlier, later in zip(sizes, sizes[1:], strict=False)}
    if len(steps) == 1 and len(sizes) > 3:
        return f"{sizes[0]}-{sizes[-1]} in steps of {steps.pop()}"
    return ", ".join(map(str, sizes))


def size_problem(cpu, memory):
    """Why Fargate runs no task of `cpu` units and `memory` MiB (both as given), or None."""
    if not (cpu.isdigit() and int(cpu) in FARGATE_MEMORY):
        return f"Cpu {cpu} is not a Fargate size (allowed: {', '.join(map(str, FARGATE_MEMORY))})"
    if not (memory.isdigit() and int(memory) in FARGATE_MEMORY[int(cpu)]):
        return (
            f"Memory {memory} is not a Fargate size for {cpu} CPU units "
            f"(allowed: {memory_words(int(cpu))})"
        )
    return None
