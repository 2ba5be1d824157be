# pragma version 0.4.3
# @title RucksackLads: the devnet's small ERC-721 collection (the NFT VIP perk of the sandbox)
# @notice Written for Rucksack's local devnet; compiled once with vyper 0.4.3 into
#         rucksack_lads.json (see evm/erc721.py for how the artifact is checked against this
#         source). The deployer mints every token (ids 1..MAX_SUPPLY) to itself at deploy; the
#         devnet faucet hands them out with transferFrom. No safeTransferFrom receiver hook: the
#         devnet only moves tokens between plain addresses.
# @license Apache-2.0

MAX_SUPPLY: constant(uint256) = 10

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    tokenId: indexed(uint256)

event Approval:
    owner: indexed(address)
    approved: indexed(address)
    tokenId: indexed(uint256)

event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool

name: public(String[32])
symbol: public(String[16])
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
getApproved: public(HashMap[uint256, address])
isApprovedForAll: public(HashMap[address, HashMap[address, bool]])
_owners: HashMap[uint256, address]


@deploy
def __init__():
    self.name = "Rucksack Lads (devnet)"
    self.symbol = "LADS"
    for token_id: uint256 in range(1, MAX_SUPPLY + 1):
        self._owners[token_id] = msg.sender
        log Transfer(sender=empty(address), receiver=msg.sender, tokenId=token_id)
    self.balanceOf[msg.sender] = MAX_SUPPLY
    self.totalSupply = MAX_SUPPLY


@view
@external
def supportsInterface(interface_id: bytes4) -> bool:
    # ERC-165 and ERC-721
    return interface_id == 0x01ffc9a7 or interface_id == 0x80ac58cd


@view
@external
def ownerOf(token_id: uint256) -> address:
    owner: address = self._owners[token_id]
    assert owner != empty(address), "nonexistent token"
    return owner


@external
def approve(approved: address, token_id: uint256):
    owner: address = self._owners[token_id]
    assert owner != empty(address), "nonexistent token"
    assert msg.sender == owner or self.isApprovedForAll[owner][msg.sender], "not owner nor operator"
    self.getApproved[token_id] = approved
    log Approval(owner=owner, approved=approved, tokenId=token_id)


@external
def setApprovalForAll(operator: address, approved: bool):
    self.isApprovedForAll[msg.sender][operator] = approved
    log ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@external
def transferFrom(sender: address, receiver: address, token_id: uint256):
    owner: address = self._owners[token_id]
    assert owner != empty(address), "nonexistent token"
    assert owner == sender, "sender is not the owner"
    assert receiver != empty(address), "transfer to zero address"
    assert (
        msg.sender == owner
        or self.getApproved[token_id] == msg.sender
        or self.isApprovedForAll[owner][msg.sender]
    ), "not owner nor approved"
    self.getApproved[token_id] = empty(address)
    self._owners[token_id] = receiver
    self.balanceOf[sender] -= 1
    self.balanceOf[receiver] += 1
    log Transfer(sender=sender, receiver=receiver, tokenId=token_id)
