pytest_plugins = ["tests.support.sshd", "tests.support.endpoints", "tests.support.slurm",
                  "tests.support.podman"]
