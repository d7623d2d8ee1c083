"""The pinned versions a reference script needs, checked before it imports them: one message naming every package
that is missing or at another version, and the pip line that installs the pins, instead of an ImportError or an
assertion partway through."""
import importlib.metadata
import os
import sys


def require(pinned, python=(3, 11), then=""):
    """Exits with that message (and `then`, what to do next) unless every package of `pinned` ({name: version}) and
    the Python are the pinned ones."""
    wrong = []
    if sys.version_info[:2] != python:
        wrong.append(f"python {sys.version_info[0]}.{sys.version_info[1]} (needs {python[0]}.{python[1]})")
    for package, version in pinned.items():
        try:
            installed = importlib.metadata.version(package).split("+")[0]
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong.append(f"{package} {installed or 'missing'} (needs {version})")
    if wrong:
        pins = " ".join(f"{p}=={v}" for p, v in pinned.items())
        script = os.path.basename(sys.argv[0])
        sys.exit(f"{script}: {', '.join(wrong)}.\nIn a Python {python[0]}.{python[1]} virtual environment: "
                 f"pip install {pins}" + (f"\nthen: {then}" if then else ""))
