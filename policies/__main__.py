"""Entry point of `pulumi preview --policy-pack policies`: wraps policies.POLICIES, nothing else.

Pulumi runs this file as a script from inside policies/, which would put policies/ itself first on
sys.path (so `aws.py` would shadow other modules): import the package from the repository root.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies import PACK_NAME, POLICIES  # noqa: E402

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
