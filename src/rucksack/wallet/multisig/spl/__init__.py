"""SPL Token multisig (m of n, n <= 11) on Solana/Eclipse: descriptor, vaults, proposals, execution.

What the chain enforces, and what this package only carries: the SPL Token program checks that at
least m of the multisig's n signers signed a transaction that moves tokens out of its vaults; the
package builds those transactions, collects and verifies signatures over the exact message bytes
off chain, and never decides on its own that a signature set is enough.

- ``descriptor``: the errors, the SPL layout constants, ``Vault`` and ``Descriptor`` (the public
  multisig file; the signer set is immutable on chain).
- ``build``: signing helpers, the create and fund transactions, mints and decimals, the payout
  instructions (SOL paid out through a temporary wSOL account, atomically).
- ``proposal``: ``Proposal`` (the off-chain message + signatures), ``propose``, ``approve``,
  ``prepare_execute``, ``execute``, ``status``; an expired blockhash means re-propose.
- ``words``: ``describe``, plain words for a message, re-derived from its bytes.
- ``chain``: blockhash validity, the on-chain multisig account, vault balances.

Each module's docstring states the invariants it keeps.
"""

from rucksack.wallet.multisig.spl.build import (
    mint_decimals,
    payout_instructions,
    prepare_create,
    prepare_fund,
    resolve_mint,
)
from rucksack.wallet.multisig.spl.chain import onchain_multisig, vault_balances
from rucksack.wallet.multisig.spl.descriptor import (
    MULTISIG_LEN,
    TOKEN_ACCOUNT_LEN,
    Descriptor,
    MissingSignatures,
    MultisigError,
    NotASigner,
    ProposalExpired,
    ProposalTampered,
    Vault,
)
from rucksack.wallet.multisig.spl.proposal import (
    Proposal,
    approve,
    default_signers,
    execute,
    prepare_execute,
    propose,
    status,
)
from rucksack.wallet.multisig.spl.words import describe

__all__ = [
    "MULTISIG_LEN",
    "TOKEN_ACCOUNT_LEN",
    "Descriptor",
    "MissingSignatures",
    "MultisigError",
    "NotASigner",
    "Proposal",
    "ProposalExpired",
    "ProposalTampered",
    "Vault",
    "approve",
    "default_signers",
    "describe",
    "execute",
    "mint_decimals",
    "onchain_multisig",
    "payout_instructions",
    "prepare_create",
    "prepare_execute",
    "prepare_fund",
    "propose",
    "resolve_mint",
    "status",
    "vault_balances",
]
