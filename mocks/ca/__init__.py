"""The mock certification authority (НУЦ РК): root, officials' keys, CRL; see README.md."""

from mocks.ca.algorithms import ALGORITHMS, AlgorithmUnavailable, KeyAlgorithm, key_algorithm
from mocks.ca.app import create_app
from mocks.ca.authority import CertificateAuthority, SubjectFields
from mocks.ca.officials import Official, mock_officials
from mocks.ca.signing import OfficialKey, load_official, officials_index
from mocks.ca.state import CaState, IssuedCertificate, serial_hex

__all__ = [
    "ALGORITHMS",
    "AlgorithmUnavailable",
    "CaState",
    "CertificateAuthority",
    "IssuedCertificate",
    "KeyAlgorithm",
    "Official",
    "OfficialKey",
    "SubjectFields",
    "create_app",
    "key_algorithm",
    "load_official",
    "mock_officials",
    "officials_index",
    "serial_hex",
]
