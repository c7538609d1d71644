"""Networks: bridges, veths, IPAM, published ports (nftables), embedded DNS."""
