from lean_prover.prover.cli.app import main

main()
