from lean_prover.prover.cli.entry import main

main()
