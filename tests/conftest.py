pytest_plugins = ["tests.sshd"]
