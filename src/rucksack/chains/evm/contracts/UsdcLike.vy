# pragma version 0.4.3
# @title UsdcLike: the devnet's USDC-like ERC-20 (6 decimals; the deployer may mint)
# @notice Written for Rucksack's local devnet; compiled once with vyper 0.4.3 into
#         usdc_like.json (see evm/erc20.py for how the artifact is checked against this source).
# @license Apache-2.0

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

name: public(String[32])
symbol: public(String[16])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
minter: public(address)


@deploy
def __init__(initial_supply: uint256):
    self.name = "USD Coin (devnet)"
    self.symbol = "USDC"
    self.decimals = 6
    self.minter = msg.sender
    self._mint(msg.sender, initial_supply)


@internal
def _mint(receiver: address, amount: uint256):
    assert receiver != empty(address), "mint to zero address"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@internal
def _move(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "transfer to zero address"
    assert self.balanceOf[sender] >= amount, "transfer amount exceeds balance"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._move(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[sender][msg.sender]
    assert allowed >= amount, "insufficient allowance"
    if allowed != max_value(uint256):
        self.allowance[sender][msg.sender] = allowed - amount
    self._move(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(receiver: address, amount: uint256):
    assert msg.sender == self.minter, "only the minter mints"
    self._mint(receiver, amount)
