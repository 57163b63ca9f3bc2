"""aplcohort.synthetic"""
