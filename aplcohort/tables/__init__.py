"""aplcohort.tables"""
